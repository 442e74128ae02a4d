"""A realistic appraisal snapshot in the documented format (README.md): twelve indicators, one of
them not applicable with its weight redistributed, one entered by hand, comments and a trail.
Used by the tests, the benchmark and as a worked example of the format."""

from __future__ import annotations

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = ("建国", "秀英", "志强", "海燕", "晓明", "丽娟", "国庆", "春梅", "立新", "红霞")

# code, name, category, unit, value, target, score, weight (%), explain template, manual
# (a "%" value or target is a fraction, as the compute stores it: 0.92 prints as 92%)
_LINES = [
    ("first_fix_rate", "一次修复率", "质量", "%", 0.92, 0.9, 100.0, 15,
     "一次修复 276 单 ÷ 完工 300 单 = 92%，≥ 目标 90% 得 100", False),
    ("repeat_repair_rate", "30天返修率", "质量", "%", 0.032, 0.05, 100.0, 10,
     "返修 9 单 ÷ 完工 281 单 = 3.2%，≤ 目标 5% 得 100", False),
    ("avg_repair_hours", "平均修复时长", "效率", "小时", 26.5, 24.0, 88.0, 10,
     "100 − (26.5 − 24) × 4.8 = 88", False),
    ("on_time_rate", "准时上门率", "效率", "%", 0.951, 0.95, 100.0, 10,
     "准时 272 单 ÷ 预约 286 单 = 95.1%，≥ 95% 得 100", False),
    ("csat", "客户满意度", "客户", "分", 4.6, 4.5, 96.0, 10, "回访均分 4.6 ÷ 5 × 100 × 1.043 = 96", False),
    ("complaints", "有效投诉数", "客户", "件", 1.0, 0.0, 80.0, 5, "100 − 有效投诉 1 件 × 20 = 80", False),
    ("nps", "净推荐值", "客户", "%", None, 0.3, None, 5, "回访样本 12 条 < 30 条，本周期不适用", False),
    ("parts_turnover_days", "备件周转天数", "成本", "天", 12.0, 15.0, 100.0, 10,
     "周转 12 天 ≤ 目标 15 天 得 100", False),
    ("part_unit_cost", "配件单位成本", "成本", "元", 186.4, 200.0, 100.0, 5,
     "186.4 元 ≤ 目标 200 元 得 100", False),
    ("ticket_completeness", "工单完整率", "合规", "%", 0.987, 1.0, 98.7, 8,
     "完整工单 296 ÷ 300 = 98.7% × 100 = 98.7", False),
    ("safety_check", "安全规范检查", "合规", "分", 90.0, None, 90.0, 7,
     "主管现场检查评分 90（手工录入）", True),
    ("training_hours", "培训学时", "合规", "小时", 12.0, 16.0, 75.0, 5, "12 ÷ 16 × 100 = 75", False),
]


def sample_snapshot(seed: int = 0) -> dict:
    """The example snapshot; ``seed`` varies the employee so a batch has distinct documents."""
    active = sum(weight for *_, score, weight, _explain, _manual in _LINES if score is not None)
    lines = []
    for code, name, category, unit, value, target, score, weight, explain, manual in _LINES:
        na = score is None
        effective = 0.0 if na else round(weight * 100 / active, 2)
        lines.append({
            "code": code, "name": name, "category": category, "unit": unit, "value": value,
            "target": target, "score": score, "weight": float(weight),
            "effective_weight": effective,
            "weighted": None if na else round(score * effective / 100, 2),
            "explain": explain, "na": na, "manual": manual,
        })
    subtotal = round(sum(line["weighted"] or 0.0 for line in lines), 2)
    adjustment = 2.0
    total = round(subtotal + adjustment, 2)
    categories: dict[str, list[tuple[float, float]]] = {}
    for line in lines:
        if not line["na"]:
            categories.setdefault(line["category"], []).append((line["score"], line["weight"]))
    name = SURNAMES[seed % len(SURNAMES)] + GIVEN[(seed // len(SURNAMES)) % len(GIVEN)]
    return {
        "company": "华信家电售后服务有限公司",
        "cycle": {"name": "2024年第三季度", "start": "2024-07-01", "end": "2024-09-30"},
        "rule_version": "2024Q3-v2",
        "employee": {"no": f"E{10001 + seed:05d}", "name": name, "position": "维修技师"},
        "station": {"code": "BJ-CY-01", "name": "北京朝阳服务站", "segment": "A类站"},
        "lines": lines,
        "na_notes": ["净推荐值：本周期回访样本不足 30 条，不参与计分；其 5% 权重按比例分配给其余指标。"],
        "subtotal": subtotal,
        "adjustment": adjustment,
        "adjustment_reason": "季度技能竞赛二等奖，加 2 分（人力资源部审批）",
        "total": total,
        "grade": "A" if total >= 95 else "B",
        "grade_label": "优秀" if total >= 95 else "良好",
        "outcomes": ["季度绩效奖金系数 1.2", "纳入年度评优候选"],
        "comments": [
            {"who": "赵主管", "when": "2024-10-08 10:12",
             "text": "一次修复率保持稳定，平均修复时长仍需压缩。\n下季度重点：备件预约提前量。"},
            {"who": name, "when": "2024-10-09 09:30", "text": "认可考核结果，将参加下季度空调系统培训。"},
        ],
        "trail": [
            {"when": "2024-10-05 17:00", "who": "系统", "action": "计算", "from": "草稿", "to": "待提交",
             "comment": ""},
            {"when": "2024-10-06 09:15", "who": "赵主管", "action": "提交", "from": "待提交", "to": "待审批",
             "comment": "已核对工单数据"},
            {"when": "2024-10-08 10:12", "who": "钱经理", "action": "批准", "from": "待审批", "to": "已批准",
             "comment": "同意"},
        ],
        "category_scores": {
            category: round(sum(s * w for s, w in pairs) / sum(w for _, w in pairs), 1)
            for category, pairs in categories.items()
        },
        "signed": None,
    }
