"""``/api/v1/station`` and ``/api/v1/employee``: a key column that may be empty can be emptied."""

from __future__ import annotations


def station_id(api, code: str) -> int:
    stations = api.get("/api/v1/station/?q=(page_size:100)").json["result"]
    return next(s["id"] for s in stations if s["code"] == code)


def test_a_station_without_a_manager_is_editable(api_as):
    hr = api_as("hr")
    pk = station_id(hr, "S02")  # no manager in the demo
    response = hr.put(f"/api/v1/station/{pk}", json={"name": "改名服务站", "manager_id": None})
    assert response.status_code == 200, response.json
    assert response.json["result"]["manager_id"] is None and response.json["result"]["name"] == "改名服务站"


def test_a_manager_can_be_removed_and_set_again(api_as):
    hr = api_as("hr")
    pk = station_id(hr, "S01")
    manager = hr.get(f"/api/v1/station/{pk}").json["result"]["manager_id"]
    assert manager is not None
    assert hr.put(f"/api/v1/station/{pk}", json={"manager_id": None}).json["result"]["manager_id"] is None
    answer = hr.put(f"/api/v1/station/{pk}", json={"manager_id": manager})
    assert answer.json["result"]["manager_id"] == manager


def test_a_new_station_may_have_no_manager(api_as):
    station = {"code": "S09", "name": "新站", "segment": "consumer", "manager_id": None}
    response = api_as("hr").post("/api/v1/station/", json=station)
    assert response.status_code == 201 and response.json["result"]["manager_id"] is None


def test_a_key_is_still_a_number_and_a_required_one_still_required(api_as):
    hr = api_as("hr")
    response = hr.put(f"/api/v1/station/{station_id(hr, 'S01')}", json={"manager_id": "abc"})
    assert response.status_code == 422 and "manager_id" in response.json["message"]
    employee = hr.get("/api/v1/employee/?q=(page_size:1)").json["result"][0]
    response = hr.put(f"/api/v1/employee/{employee['id']}", json={"station_id": None})
    assert response.status_code == 422 and "station_id" in response.json["message"]


def test_an_employee_without_a_supervisor_is_editable(api_as):
    hr = api_as("hr")
    employees = hr.get("/api/v1/employee/?q=(page_size:100)").json["result"]
    top = next(e for e in employees if e["supervisor_id"] is None)
    response = hr.put(f"/api/v1/employee/{top['id']}", json={"name": top["name"], "supervisor_id": None})
    assert response.status_code == 200, response.json


def test_the_openapi_document_says_the_manager_may_be_empty(api_as):
    schemas = api_as("hr").get("/api/v1/_openapi").json["components"]["schemas"]
    assert schemas["StationApi.put"]["properties"]["manager_id"] == {"type": "integer", "nullable": True}
