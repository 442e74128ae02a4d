"""The appraisal list screen reads what it shows: no snapshot or other JSON document of its rows, its
cycles or its filters' choices; the filters' options are written as wtforms writes them, escaped."""

from __future__ import annotations

from types import SimpleNamespace

from flask_appbuilder.fieldwidgets import Select2Widget
from wtforms.fields.choices import Choice as WtChoice

from app.web.choices import ChoicesWidget
from tests.factories import statements_for


def test_the_list_screen_reads_no_json_document(app, login_as):
    hr = login_as("hr")
    statements = statements_for(app, hr, "/appraisal/list/?psize_AppraisalView=10")
    read = " ".join(statements)
    for column in ("appraisal.snapshot AS", "appraisal.manual AS", "cycle.last_result AS",
                   "cycle.publication AS"):
        assert column not in read, column


def test_the_filter_options_are_written_as_wtforms_writes_them(app):
    choices = [WtChoice("1", "A <b> & “c”", False, None), WtChoice("2", "plain", True, None),
               WtChoice("3", "", False, None)]
    field = SimpleNamespace(id="station", name="station", flags=SimpleNamespace(),
                            has_groups=lambda: False, _iter_choices_normalized=lambda: iter(choices))
    with app.test_request_context("/"):
        assert str(ChoicesWidget()(field)) == str(Select2Widget()(field))
        assert "A &lt;b&gt; &amp; “c”" in str(ChoicesWidget()(field))


def test_the_filter_options_are_listed_without_a_warning_each(app, login_as):
    import warnings  # late: only this test records warnings

    hr = login_as("hr")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        page = hr.get("/appraisal/list/")
    assert page.status_code == 200
    assert "my_select2" in page.get_data(as_text=True)  # the filters' selects were rendered
    raw = [w for w in caught if "raw tuples" in str(w.message)]
    assert raw == []
