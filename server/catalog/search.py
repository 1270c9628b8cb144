"""How catalog search orders what it finds: the same rules as pwa/static/js/search.js, so that the app offline
lists procedures in the order the server would (tests/test_search_js.py runs tests/data/search_cases.json
through both). Pure functions, no I/O; the query and the names are folded (server/vietnamese.py fold()).

A procedure is found when every word of the query (but a leading "thủ tục") is in its name, or when the query is its code or the start of
its code. The order, best first:
  0  the code itself ("1.001193")
  1  the name is the query ("đăng ký khai sinh" → "Thủ tục đăng ký khai sinh": the common "Thủ tục" is ignored)
  2  the name starts with the query
  3  the query appears in the name as a phrase, from the start of a word
  4  the code starts with the query
  5  every word appears somewhere in the name
then the shorter name, then the name, then the code. With no query, by name then code.
"""

from __future__ import annotations

COMMON_PREFIX = "thu tuc "  # fold("Thủ tục "): most published names begin with it, or not, at random


def base_name(folded_name: str) -> str:
    """The folded name without the leading "thủ tục"."""
    return folded_name[len(COMMON_PREFIX):] if folded_name.startswith(COMMON_PREFIX) else folded_name


def query_words(folded_query: str) -> str:
    """The folded query without a leading "thủ tục": the words every name found must contain."""
    return base_name(" ".join(folded_query.split()))


def name_matches(words: list[str], folded_name: str) -> bool:
    return all(word in folded_name for word in words)


def code_matches(query: str, code: str) -> bool:
    """The query (trimmed, one token) is the code or its start, case ignored."""
    text = query.strip().lower()
    return bool(text) and " " not in text and code.lower().startswith(text)


def rank(folded_query: str, query: str, code: str, folded_name: str) -> tuple[int, int, str, str] | None:
    """The sort key of a procedure for a query, or None when it is not found. folded_query is fold(query)."""
    wanted = query_words(folded_query)
    if not wanted:
        return (5, 0, folded_name, code)
    words = wanted.split()
    base = base_name(folded_name)
    lowered = query.strip().lower()
    if lowered and lowered == code.lower():
        tier = 0
    elif name_matches(words, folded_name):
        if base == wanted:
            tier = 1
        elif base.startswith(wanted):
            tier = 2
        elif (" " + base).find(" " + wanted) >= 0:
            tier = 3
        elif code_matches(query, code):
            tier = 4
        else:
            tier = 5
    elif code_matches(query, code):
        tier = 4
    else:
        return None
    return (tier, len(base), base, code)
