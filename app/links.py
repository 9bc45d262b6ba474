"""Every page keeps its whole setup in its URL (the glue; the rules are in labcore.links).

Per page run:
1. `main.py` calls `read_globals()` first (`lang`, `present`), then `enter(page)` after navigation.
2. The page calls `setup(link)` before drawing its widgets. A link the session has not written itself (a
   shared link, a preset opened from Home, browser back) is validated and put into the widgets' keys; the
   params it could not use are named once in a warning and kept in `st.session_state["link_ignored"]`.
   Coming back from another page, the setup this page had when it was left is put back instead (Streamlit
   forgets the state of widgets a run does not draw, so the setup lives under a key of its own).
3. `publish()` (the page after its widgets, else `main.py` after the page) writes the setup back into the
   URL, naming only what differs from the defaults, plus `lang` and `present` (Home: only those two).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from app.state import tr
from labcore import links

WRITTEN = "links.written"  # the query this session last wrote
PAGE = "links.page"  # url path of the page this run draws ("" for Home)
NEW_VISIT = "links.new_visit"  # this run opens the page (first run, or navigated here)
SAVED = "links.saved"  # {page: values} the setup each page had when it was last drawn
PENDING = "links.pending"  # the link of this run, until published
WARNED = "links.warned"  # (page, names, query) of a link whose ignored params are on show
BAD_GLOBALS = "links.bad_globals"
SHOWN_NAMES = 8  # the warning lists this many names, then "and N more"
KEYS: dict[str, Mapping[str, str]] = {}  # page -> {param: widget key} of the keyed pages that have run (tests)
ss = st.session_state


@dataclass
class PageLink:
    """A page's link: `page` is its url path and schema name (labcore.links.SCHEMAS).

    `keys` ({param: session key of its widget}) and/or `load` (values -> session state, after the keys) and
    `values` (session state -> values). `context`: what the page's ranges depend on (labcore.links schemas)."""

    page: str
    keys: Mapping[str, str] = field(default_factory=dict)
    load: Callable[[dict[str, Any]], None] | None = None
    values: Callable[[], dict[str, Any]] | None = None
    context: dict[str, Any] = field(default_factory=dict)
    slot: Any = None  # where the warning about the link's unusable params is drawn

    def read(self, query: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
        return links.read(self.page, query, **self.context)

    def put(self, values: dict[str, Any]) -> None:
        for name, key in self.keys.items():
            if name in values:
                ss[key] = list(values[name]) if isinstance(values[name], tuple) else values[name]
        if self.load is not None:
            self.load(values)

    def current(self) -> dict[str, Any]:
        if self.values is not None:
            return self.values()
        out = {}
        for name, key in self.keys.items():
            value = ss.get(key)
            out[name] = tuple(value) if isinstance(value, list) else value
        return out


def _query() -> dict[str, str]:
    return st.query_params.to_dict()


def _page_part(query: Mapping[str, str] | None) -> dict[str, str]:
    return {k: v for k, v in (query or {}).items() if k not in links.GLOBALS}


def read_globals() -> None:
    """main.py, first thing: `lang` and `present` from a link this session did not write."""
    query, written = _query(), ss.get(WRITTEN) or {}
    fresh = {k: v for k, v in query.items() if k in links.GLOBALS and v != written.get(k)}
    values, ignored = links.read_globals(fresh)
    ss.update(values)
    ss[BAD_GLOBALS] = ignored
    ss.setdefault("lang", links.DEFAULT_LANG)


def enter(page: str) -> None:
    """main.py, once the page is known: does this run open it?"""
    ss[NEW_VISIT] = ss.get(PAGE) != page
    ss[PAGE] = page
    ss.pop(PENDING, None)


def setup(link: PageLink) -> None:
    """Top of a page, before its widgets: the link's setup, or the one the page had, into the widgets."""
    query = _query()
    page_query = _page_part(query)
    bad_globals = list(ss.get(BAD_GLOBALS, []))
    if page_query and page_query != _page_part(ss.get(WRITTEN)):  # a link this session did not write
        values, ignored = link.read(page_query)
        link.put(values)
        _ignored(link.page, bad_globals + ignored)
    elif ss.get(NEW_VISIT):
        saved = ss.get(SAVED, {}).get(link.page)  # checked again: what the page offers may have changed
        link.put(link.read(links.write(link.page, saved, **link.context) if saved is not None else {})[0])
        _ignored(link.page, bad_globals)
    elif bad_globals:
        _ignored(link.page, bad_globals)
    else:  # the same visit: the warning stays until the setup changes
        warned = ss.get(WARNED)
        if warned and (warned[0] != link.page or warned[2] != query):
            ss.pop(WARNED, None)
    if link.keys:
        KEYS[link.page] = link.keys
        refit(link)
    warned = ss.get(WARNED)
    if warned:
        names = [_short(n) for n in warned[1]]
        more = len(names) - SHOWN_NAMES
        text = ", ".join(names[:SHOWN_NAMES]) + (tr("links.and_more", n=more) if more > 0 else "")
        link.slot = st.empty()  # emptied by publish() if this run changes the setup
        link.slot.warning(tr("links.ignored", names=text), icon=":material/link_off:")
    ss[PENDING] = link



def setup_tabs(page: str, prefix: str, panels: Sequence[str], names: Sequence[str]) -> None:
    """A page whose open tab is its link's `panel` param and whose widget keys are `prefix` + their param
    names (Neurons, Evaluation, Training tricks, Precision): sets up its link and its tabs' state. The open
    panel's name is kept under `prefix + "panel"` (the tabs widget itself holds the translated label). Draw the
    tabs with `tabs(page, prefix, panels)`."""
    panel_key, tab_key = prefix + "panel", prefix + "tab"
    params = [n for n in names if n != "panel"]

    def values() -> dict[str, Any]:
        return {n: ss.get(prefix + n) for n in params} | {"panel": ss.get(panel_key, panels[0])}

    def load(v: dict[str, Any]) -> None:
        ss[panel_key] = v["panel"]

    setup(PageLink(page, keys={n: prefix + n for n in params}, load=load, values=values))
    ss.setdefault(panel_key, panels[0])
    ss[tab_key] = tr(f"{page}.tab_{ss[panel_key]}")


def tabs(page: str, prefix: str, panels: Sequence[str]) -> list:
    """The page's tabs (after `setup_tabs`); choosing one updates the `panel` the link keeps."""
    panel_key, tab_key = prefix + "panel", prefix + "tab"

    def on_tab() -> None:
        for panel in panels:
            if ss.get(tab_key) == tr(f"{page}.tab_{panel}"):
                ss[panel_key] = panel

    return st.tabs([tr(f"{page}.tab_{p}") for p in panels], key=tab_key, on_change=on_tab)

def _ignored(page: str, names: list[str]) -> None:
    ss["link_ignored"] = names
    if names:
        ss[WARNED] = (page, names, None)  # the query is filled in once the page has written its setup
    else:
        ss.pop(WARNED, None)


def publish(values: dict[str, Any] | None = None) -> None:
    """After the page's widgets (a page that does not call it: main.py, after the page): the setup into the URL."""
    link: PageLink | None = ss.pop(PENDING, None)
    if link is None:  # a page without a setup (Home): its URL still carries the language and presentation mode
        query = _query()
        wanted = {k: v for k, v in query.items() if k not in links.GLOBALS} | _globals()
        if wanted != query:
            st.query_params.from_dict(wanted)
        return
    values = values if values is not None else link.current()
    ss.setdefault(SAVED, {})[link.page] = values
    query = links.write(link.page, values, **link.context)
    write_query(query, link)


def _globals() -> dict[str, str]:
    out = {"lang": ss["lang"]} if ss.get("lang", links.DEFAULT_LANG) != links.DEFAULT_LANG else {}
    return out | ({"present": "1"} if ss.get("present") else {})


def write_query(query: dict[str, str], link: PageLink | None = None) -> None:
    """`query` plus the global params, into the URL (only when it changed: each write is a browser message)."""
    query.update(_globals())
    if _query() != query:
        st.query_params.from_dict(query)
    ss[WRITTEN] = query
    warned = ss.get(WARNED)
    if warned and warned[2] is None:
        ss[WARNED] = (warned[0], warned[1], query)
    elif warned and warned[2] != query:  # the user changed the setup: the link's warning has done its job
        ss.pop(WARNED, None)
        if link is not None and link.slot is not None:
            link.slot.empty()


def _short(name: str, most: int = 40) -> str:
    name = name if name.isprintable() else repr(name)
    return name if len(name) <= most else name[: most - 1] + "…"


def keys_with_prefix(page: str, prefix: str, names: dict[str, str], **context: Any) -> PageLink:
    """A link whose params map to `prefix + widget name` session keys."""
    return PageLink(page, keys={param: prefix + key for param, key in names.items()}, context=context)


def refit(link: PageLink) -> None:
    """Every widget key of a keyed link holds a value its widget offers now, before the widget is drawn
    (widgets take no `value=`): a missing one gets its default, one the page's context no longer offers (the
    Explain page's index after picking a model with fewer test images) the nearest valid one."""
    values, _ = link.read(links.write(link.page, link.current(), **link.context))
    for name, key in link.keys.items():
        if name in values:
            value = list(values[name]) if isinstance(values[name], tuple) else values[name]
            if ss.get(key) != value:
                ss[key] = value


__all__ = ["PageLink", "enter", "keys_with_prefix", "publish", "read_globals", "refit", "setup", "write_query"]
