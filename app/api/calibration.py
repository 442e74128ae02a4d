"""REST API of calibration (校准): a cycle's grade distribution against the distribution policy, and HR's
calibration of one appraisal.

``GET /api/v1/calibration/<cycle_id>``: every station side by side (grade counts and shares, the spread
of the totals), the network, each customer segment, the people at the grade boundaries (a page of them:
``page``, ``page_size``; narrowed by ``station`` id, ``grade`` (``-`` for none) and ``q``, a name or
number) and the policy's breaches. HR sees every station; a station manager their own stations (and no
network-wide breach); anyone else 403. ``POST /api/v1/calibration/appraisal/<id>`` writes a new version
with a new grade and/or total and a reason; errors by their kind (``app.api.base.service_error``).
"""

from __future__ import annotations

from flask import request
from flask_appbuilder.api import BaseApi, expose, safe
from flask_appbuilder.security.decorators import permission_name, protect
from flask_babel import gettext as _

from .. import permissions as p
from ..extensions import db
from ..locales import current_locale
from ..models import Cycle
from ..services.calibration import INTERNAL, calibrate
from ..services.distribution import NO_GRADE, PeopleFilter, cycle_distribution, people
from ..services.errors import ServiceError
from ..web.context import MAX_COMMENT, current_caller, row_or_none
from ..workflow import Refusal
from .base import service_error

# The boundary people an answer lists at once, unless ``page_size`` says otherwise (at most the maximum).
PAGE_SIZE = 200
MAX_PAGE_SIZE = 1000


class CalibrationApi(BaseApi):
    resource_name = "calibration"
    class_permission_name = p.APPRAISAL
    method_permission_name = {"distribution": p.READ, "calibrate": p.WRITE}
    allow_browser_login = True
    openapi_spec_tag = "Calibration"

    def response_404(self):
        return self.response(404, message=_("Not found."))

    @expose("/<int:cycle_id>", methods=["GET"])
    @protect()
    @safe
    @permission_name("distribution")
    def distribution(self, cycle_id: int):
        """The cycle's grade distribution, the boundary people and the policy's breaches.
        ---
        get:
          parameters:
          - in: path
            schema:
              type: integer
            name: cycle_id
          - in: query
            schema:
              type: integer
            name: page
            description: the page of the boundary people, from 1 (default 1)
          - in: query
            schema:
              type: integer
            name: page_size
            description: boundary people per page (default 200, at most 1000)
          - in: query
            schema:
              type: integer
            name: station
            description: only the boundary people of this station (its id)
          - in: query
            schema:
              type: string
            name: grade
            description: only those of this grade ("-" for those without one)
          - in: query
            schema:
              type: string
            name: q
            description: only those whose name or employee number holds this text
          responses:
            200:
              description: cycle, grades (with labels and minimums), policy, whole_network, network, stations,
                segments (each with counts, shares, headcount, ungraded and the spread of the totals),
                boundary (one page of the people at a grade boundary), boundary_total (how many match),
                page, page_size, pages, breaches (each with its message)
            400:
              $ref: '#/components/responses/400'
            403:
              $ref: '#/components/responses/403'
            404:
              $ref: '#/components/responses/404'
        """
        person = current_caller()
        if person.scope.everything:
            stations = None
        elif person.scope.station_ids:
            stations = sorted(person.scope.station_ids)
        else:
            return self.response(403, message=_("The calibration is for HR and station managers (their own "
                                                 "stations)."))
        cycle = row_or_none(Cycle, cycle_id)
        if cycle is None:
            return self.response_404()
        args = request.args
        numbers = {}
        for name, default in (("page", 1), ("page_size", PAGE_SIZE), ("station", 0)):
            raw = (args.get(name) or "").strip()
            if raw and not (raw.isdigit() and len(raw) < 10 and (int(raw) > 0 or name == "station")):
                return self.response_400(message=_("“%(name)s” is a whole number from 1.", name=name))
            numbers[name] = int(raw) if raw else default
        if numbers["page_size"] > MAX_PAGE_SIZE:
            return self.response_400(message=_("“page_size” is at most %(n)s.", n=MAX_PAGE_SIZE))
        station = numbers["station"] or None
        if station is not None and stations is not None and station not in stations:
            return self.response_404()
        grade = (args.get("grade") or "").strip()[:16] or None
        locale = current_locale()
        found = cycle_distribution(db.session, cycle, station_ids=stations, locale=locale, boundary_limit=0)
        if grade is not None and grade != NO_GRADE and grade not in found.grades:
            return self.response_400(message=_("Choose the grade from the list."))
        page = people(db.session, cycle, found.bands, station_ids=stations, page=numbers["page"],
                      size=numbers["page_size"],
                      where=PeopleFilter(station_id=station, grade=grade,
                                         text=(args.get("q") or "").strip()[:64] or None))
        return self.response(200, **dict(found.to_dict(locale), boundary=[p.to_dict() for p in page.rows],
                                         boundary_total=page.total, page=page.page, page_size=page.size,
                                         pages=page.pages))

    @expose("/appraisal/<int:pk>", methods=["POST"])
    @protect()
    @safe
    @permission_name("calibrate")
    def calibrate(self, pk: int):
        """Calibrate an approved appraisal (HR): a new version with a new grade and/or total.
        ---
        post:
          parameters:
          - in: path
            schema:
              type: integer
            name: pk
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  properties:
                    total:
                      type: number
                      description: the new total, 0–100 (the grade follows it unless a grade is given)
                    grade:
                      type: string
                      description: the new grade, one of the rule set's
                    comment:
                      type: string
                      description: the reason (required)
                    visibility:
                      type: string
                      enum: [internal, shared]
                      description: who reads the reason (default internal)
                    hash:
                      type: string
                      description: the snapshot hash the caller saw; another answers 409
          responses:
            200:
              description: the new version (id, previous_id, version, state, total, grade, hash)
            400:
              $ref: '#/components/responses/400'
            403:
              $ref: '#/components/responses/403'
            404:
              $ref: '#/components/responses/404'
            409:
              description: changed meanwhile
            422:
              $ref: '#/components/responses/422'
        """
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            return self.response_400(message=_("Send a JSON object."))
        comment, expected = data.get("comment"), data.get("hash")
        visibility = data.get("visibility", INTERNAL)
        if comment is not None and (not isinstance(comment, str) or len(comment) > MAX_COMMENT):
            return self.response_400(message=_("The comment must be text of at most 4,000 characters."))
        if not isinstance(visibility, str) or (expected is not None and not isinstance(expected, str)):
            return self.response_400(message=_("“visibility” and “hash” are text."))
        total, grade = data.get("total"), data.get("grade")
        if isinstance(total, str) or (grade is not None and not isinstance(grade, str)):
            return self.response_422(message=_("“total” is a number and “grade” a text."))
        try:
            new = calibrate(db.session, pk, current_caller(), total=total, grade=grade, reason=comment,
                            visibility=visibility[:16], expected_hash=(expected or "")[:64] or None)
        except (ServiceError, Refusal) as exc:
            return service_error(self, exc)
        return self.response(200, id=new.id, previous_id=pk, version=new.version, state=new.state.value,
                             total=new.total, grade=new.grade, hash=new.snapshot_hash)
