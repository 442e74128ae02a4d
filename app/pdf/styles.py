"""Computed styles shared between the documents one renderer makes.

WeasyPrint computes an element's style once per distinct (parent style, style attributes, matching
rules) and shares it between the elements of one document; in a long document the second appraisal
costs no styles. Every separate PDF starts that cache empty, which was a tenth of an appraisal's
rendering time (the cascade, then the lazily computed values read by box building and layout).

``SharedStyleFor`` keeps the cache across documents: it is WeasyPrint's ``StyleFor.__init__``
(weasyprint/css/__init__.py, BSD licence) with three changes:

- the cache lives in a dict the caller owns (``share_styles(font_config)``), one per list of
  stylesheets, so two locales never mix;
- style attributes (and the ``lang``/``id`` WeasyPrint turns into declarations) are keyed by their
  text rather than by parsed objects, which are new in every document;
- an element that takes a cached style still registers its anchor with this document.

A computed style depends only on what the key holds (the rule WeasyPrint's own sharing rests on), so
the bytes are the same as without sharing: tests/pdf/test_pdf_styles.py renders both ways. It is
installed only for the WeasyPrint versions it was checked against, and only font configurations
passed to ``share_styles`` use it; anything else gets WeasyPrint's own behaviour.
"""

from __future__ import annotations

from math import inf

import weasyprint
import weasyprint.css
from weasyprint.css import (
    PROGRESS_LOGGER,
    StyleFor,
    declaration_precedence,
    find_style_attributes,
    preprocess_declarations,
)

CHECKED_VERSIONS = ("70.0",)
# Past this many styles the cache starts again (it holds a few hundred for the appraisal template).
MAX_STYLES = 20_000
_ATTRIBUTE = "_jixiao_shared_styles"


def share_styles(font_config) -> bool:
    """Let documents rendered with ``font_config`` share computed styles; False when this
    WeasyPrint version is not one the sharing was checked against (nothing changes then)."""
    if not ACTIVE:
        return False
    setattr(font_config, _ATTRIBUTE, {})
    return True


class SharedStyleFor(StyleFor):
    def __init__(self, html, sheets, presentational_hints, font_config, target_collector):
        shared = getattr(font_config, _ATTRIBUTE, None)
        if shared is None:
            super().__init__(html, sheets, presentational_hints, font_config, target_collector)
            return
        if sum(len(cache) for cache in shared.values()) > MAX_STYLES:
            shared.clear()
        computed_cache = shared.setdefault(tuple(id(sheet) for sheet, _, _ in sheets), {})

        # From here on WeasyPrint's StyleFor.__init__, but for the marked lines.
        self._cascaded_styles = cascaded_styles = {}
        self._computed_styles = computed_styles = {}
        self.initial_page_sizes = {'box': None, 'area': None}
        self._sheets = sheets
        self.font_config = font_config

        PROGRESS_LOGGER.info('Step 3 - Applying CSS')
        layer_order = inf
        elements_declarations = {}
        for specificity, element, declarations, base_url in find_style_attributes(
                html.etree_element, presentational_hints, html.base_url):
            style = cascaded_styles.setdefault((element, None), {})
            declarations = tuple(declarations)
            # Changed: keyed by text, the same in every document.
            elements_declarations[element] = tuple(
                declaration.serialize() for declaration in declarations)
            for name, values, importance in preprocess_declarations(
                    base_url, declarations):
                precedence = declaration_precedence('author', importance)
                weight = (precedence, layer_order, specificity)
                old_weight = style.get(name, (None, None))[1]
                if old_weight is None or old_weight <= weight:
                    style[name] = values, weight

        for element in html.wrapper_element.iter_subtree():
            etree_element = element.etree_element
            parent = element.parent.etree_element if element.parent else None
            parent_id = id(computed_styles[parent, None]) if element.parent else None
            element_declarations = elements_declarations.get(etree_element)
            selectors_keys = []
            for sheet, origin, sheet_specificity in sheets:
                for selector in sheet.matcher.match(element):
                    specificity, order, pseudo_type, (declarations, layer) = selector
                    layer_order = inf if layer is None else sheet.layers.index(layer)
                    selectors_keys.append(
                        (sheet, specificity, id(declarations), layer_order))
                    specificity = sheet_specificity or specificity
                    style = cascaded_styles.setdefault((etree_element, pseudo_type), {})
                    for name, values, importance in declarations:
                        precedence = declaration_precedence(origin, importance)
                        weight = (precedence, layer_order, specificity)
                        old_weight = style.get(name, (None, None))[1]
                        if old_weight is None or old_weight <= weight:
                            style[name] = values, weight

            # Changed: the base URL is part of the key (it is in the style).
            key = (parent_id, element_declarations, tuple(selectors_keys), html.base_url)
            if key in computed_cache:
                computed = computed_styles[etree_element, None] = computed_cache[key]
                # Changed: this document's anchors are its own.
                if target_collector and computed['anchor']:
                    target_collector.collect_anchor(computed['anchor'])
            else:
                self.set_computed_styles(
                    etree_element, root=html.etree_element, parent=parent,
                    base_url=html.base_url, target_collector=target_collector)
                computed_cache[key] = computed_styles[etree_element, None]

        for element, pseudo_type in cascaded_styles:
            if pseudo_type:
                self.set_computed_styles(
                    element, pseudo_type=pseudo_type,
                    root=html.etree_element, parent=element,
                    base_url=html.base_url, target_collector=target_collector)

        self._cascaded_styles.clear()


ACTIVE = weasyprint.__version__ in CHECKED_VERSIONS
if ACTIVE:
    weasyprint.css.StyleFor = SharedStyleFor
