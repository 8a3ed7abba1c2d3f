"""The query language's grammar and tree: text -> nodes that compile to closures.

Grammar, loosest binding first::

    query    := or_expr
    or_expr  := and_expr ("OR" and_expr)*
    and_expr := unary (["AND"] unary)*          adjacent terms are ANDed
    unary    := "NOT" unary | "-" primary | near
    near     := primary ("NEAR/" n primary)*
    primary  := [field ":"] (WORD | "PHRASE" | "(" or_expr ")")
    field    := title | author | site | lang

Each node compiles to a closure over a :class:`earful.matching.index.DocIndex` and knows its
*anchor*: a set of index keys one of which every document it matches contains (None when it
can match without any, e.g. under NOT). Errors are :class:`QuerySyntaxError` with a 1-based
position. The public API is :mod:`earful.matching.matcher`.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass

from earful.errors import ConfigError
from earful.matching.index import DocIndex, normalize_host, normalize_text, query_tokens

Fn = Callable[[DocIndex], bool]
Span = tuple[int, int]  # first and last token position, inclusive
FIELDS = ("title", "author", "site", "lang")
_LANG = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{1,8})*$")
_NEAR = re.compile(r"^NEAR/(\d{1,4})$")
_QUOTES = '"“”„«»'
# Words so common that a query anchored on them would be evaluated for most posts.
_COMMON = frozenset(
    re.split(
        r"\s+",
        "a an and are as at be but by for from has have i in is it my not of on or so that the "
        "this to was we were with you your our they he she me no yes do did just all can will",
    )
)


class QuerySyntaxError(ConfigError):
    """A malformed query; ``position`` counts characters from 1."""

    reason = "query"

    def __init__(self, problem: str, query: str, position: int) -> None:
        self.problem = problem
        self.query = query
        self.position = position
        super().__init__(f"{problem} at position {position} in {query!r}")


class Node:
    pos = 0
    field = "body"  # body (title or text), title, author, site, lang; "mixed" for operators

    def compile(self) -> Fn:
        raise NotImplementedError

    def anchor(self) -> tuple[frozenset[str], float] | None:
        """Keys one of which every matching doc contains (and their cost), or None."""
        return None

    def positives(self, out: list[Term]) -> None:
        """Terms that must be present for the match (not under NOT)."""

    def spans(self, d: DocIndex, field: str) -> list[Span]:
        raise NotImplementedError

    positional = False


def _token_cost(tok: str) -> float:
    if tok in _COMMON:
        return 50.0
    return 10.0 if len(tok) <= 2 else 1.0 + 1.0 / len(tok)


class Term(Node):
    positional = True

    def __init__(self, field: str, tokens: tuple[str, ...], text: str, pos: int) -> None:
        self.field, self.tokens, self.text, self.pos = field, tokens, text, pos
        prefix = "\x00a:" if field == "author" else ""
        self.keys = tuple(prefix + t for t in tokens)

    def compile(self) -> Fn:
        keys, toks, field = self.keys, self.tokens, self.field
        if field == "title":
            if len(toks) == 1:
                k = toks[0]
                return lambda d: k in d.title_keys
            ks = frozenset(toks)
            return lambda d: ks <= d.title_keys and d.has_phrase("title", toks)
        if len(keys) == 1:
            k = keys[0]
            return lambda d: k in d.keys
        ks = frozenset(keys)
        if field == "author":
            return lambda d: ks <= d.keys and d.has_phrase("author", toks)
        return lambda d: (
            ks <= d.keys and (d.has_phrase("text", toks) or d.has_phrase("title", toks))
        )

    def anchor(self) -> tuple[frozenset[str], float]:
        best = min(self.keys, key=lambda k: _token_cost(k.removeprefix("\x00a:")))
        return frozenset([best]), _token_cost(best.removeprefix("\x00a:"))

    def positives(self, out: list[Term]) -> None:
        out.append(self)

    def spans(self, d: DocIndex, field: str) -> list[Span]:
        pos = d.positions(field)
        toks = self.tokens
        starts = pos.get(toks[0], [])
        if len(toks) == 1:
            return [(p, p) for p in starts]
        follow = [set(pos.get(t, ())) for t in toks[1:]]
        n = len(toks) - 1
        return [(p, p + n) for p in starts if all(p + i + 1 in s for i, s in enumerate(follow))]


class _Key(Node):
    """``site:`` and ``lang:``: an exact key the doc index carries."""

    def __init__(self, field: str, key: str, pos: int) -> None:
        self.field, self.key, self.pos = field, key, pos

    def compile(self) -> Fn:
        k = self.key
        return lambda d: k in d.keys

    def anchor(self) -> tuple[frozenset[str], float]:
        return frozenset([self.key]), 2.0


class _Not(Node):
    field = "mixed"

    def __init__(self, child: Node, pos: int) -> None:
        self.child, self.pos = child, pos

    def compile(self) -> Fn:
        f = self.child.compile()
        return lambda d: not f(d)


class _And(Node):
    field = "mixed"

    def __init__(self, children: list[Node]) -> None:
        self.children, self.pos = children, children[0].pos

    def compile(self) -> Fn:
        # Cheap set lookups first, phrases and NEAR (which need positions) last.
        fns = [c.compile() for c in sorted(self.children, key=_eval_cost)]
        if len(fns) == 2:
            a, b = fns
            return lambda d: a(d) and b(d)
        return lambda d: all(f(d) for f in fns)

    def anchor(self) -> tuple[frozenset[str], float] | None:
        found = [a for a in (c.anchor() for c in self.children) if a is not None]
        return min(found, key=lambda a: a[1]) if found else None

    def positives(self, out: list[Term]) -> None:
        for c in self.children:
            c.positives(out)


class _Or(Node):
    def __init__(self, children: list[Node]) -> None:
        self.children, self.pos = children, children[0].pos
        fields = {c.field for c in children}
        self.field = fields.pop() if len(fields) == 1 else "mixed"
        self.positional = all(c.positional for c in children)

    def compile(self) -> Fn:
        fns = [c.compile() for c in sorted(self.children, key=_eval_cost)]
        if len(fns) == 2:
            a, b = fns
            return lambda d: a(d) or b(d)
        return lambda d: any(f(d) for f in fns)

    def anchor(self) -> tuple[frozenset[str], float] | None:
        keys: set[str] = set()
        cost = 0.0
        for c in self.children:
            a = c.anchor()
            if a is None:
                return None
            keys |= a[0]
            cost += a[1]
        return frozenset(keys), cost

    def positives(self, out: list[Term]) -> None:
        for c in self.children:
            c.positives(out)

    def spans(self, d: DocIndex, field: str) -> list[Span]:
        return sorted(s for c in self.children for s in c.spans(d, field))


class _Near(Node):
    positional = True

    def __init__(self, left: Node, right: Node, n: int, pos: int) -> None:
        self.left, self.right, self.n, self.pos = left, right, n, pos
        self.field = left.field

    def compile(self) -> Fn:
        lf, rf = self.left.compile(), self.right.compile()
        fields = ("text", "title") if self.field == "body" else (self.field,)

        def near(d: DocIndex) -> bool:
            return lf(d) and rf(d) and any(self.spans(d, f, first=True) for f in fields)

        return near

    def anchor(self) -> tuple[frozenset[str], float] | None:
        return _And([self.left, self.right]).anchor()

    def positives(self, out: list[Term]) -> None:
        self.left.positives(out)
        self.right.positives(out)

    def spans(self, d: DocIndex, field: str, first: bool = False) -> list[Span]:
        """Spans covering a left and a right match with at most ``n`` words between."""
        left = self.left.spans(d, field)
        if not left:
            return []
        right = self.right.spans(d, field)
        if not right:
            return []
        by_start = sorted(right)
        starts = [s for s, _ in by_start]
        by_last = sorted(right, key=lambda s: s[1])
        lasts = [e for _, e in by_last]
        n, out = self.n, []
        for s, e in left:
            i = bisect_left(starts, e + 1)  # a right match after this left one
            if i < len(starts) and starts[i] <= e + 1 + n:
                out.append((s, by_start[i][1]))
            j = bisect_left(lasts, s - 1 - n)  # a right match before it
            if j < len(lasts) and lasts[j] <= s - 1:
                out.append((by_last[j][0], e))
            if out and first:
                return out
        return sorted(out)


def _eval_cost(node: Node) -> int:
    if isinstance(node, Term | _Key):
        return 0 if len(getattr(node, "tokens", "x")) == 1 else 2
    if isinstance(node, _Near):
        return 3
    if isinstance(node, _Not):
        return _eval_cost(node.child)
    return 1


@dataclass(slots=True)
class _Tok:
    kind: str  # ( ) WORD PHRASE AND OR NOT NEAR MINUS FIELD END
    value: str
    pos: int  # 0-based


def _lex(q: str) -> list[_Tok]:
    out: list[_Tok] = []
    i, n = 0, len(q)
    while i < n:
        c = q[i]
        if c.isspace():
            i += 1
        elif c in "()":
            out.append(_Tok(c, c, i))
            i += 1
        elif c in _QUOTES:
            j = i + 1
            while j < n and q[j] not in _QUOTES:
                j += 1
            if j >= n:
                raise QuerySyntaxError("unclosed quote", q, i + 1)
            out.append(_Tok("PHRASE", q[i + 1 : j], i))
            i = j + 1
        elif c == "-":
            if i + 1 >= n or q[i + 1].isspace() or q[i + 1] == ")":
                raise QuerySyntaxError("'-' must stand directly before a term", q, i + 1)
            out.append(_Tok("MINUS", c, i))
            i += 1
        else:
            j = i
            while j < n and not q[j].isspace() and q[j] not in "()" and q[j] not in _QUOTES:
                j += 1
            _lex_word(q, q[i:j], i, j, out)
            i = j
    out.append(_Tok("END", "", n))
    return out


def _lex_word(q: str, word: str, i: int, j: int, out: list[_Tok]) -> None:
    if word in ("AND", "OR", "NOT"):
        out.append(_Tok(word, word, i))
        return
    if word.startswith("NEAR"):
        m = _NEAR.match(word)
        if not m:
            raise QuerySyntaxError("expected NEAR/n with a number of words, like NEAR/3", q, i + 1)
        out.append(_Tok("NEAR", m.group(1), i))
        return
    if "*" in word or "?" in word:
        at = min(k for k in (word.find("*"), word.find("?")) if k >= 0)
        raise QuerySyntaxError("wildcards are not supported", q, i + at + 1)
    prefix, colon, rest = word.partition(":")
    if colon and prefix.isalpha():
        field = prefix.lower()
        if field not in FIELDS:
            known = ", ".join(f"{f}:" for f in FIELDS)
            raise QuerySyntaxError(f"unknown field {prefix + ':'!r} (known: {known})", q, i + 1)
        out.append(_Tok("FIELD", field, i))
        if rest:
            out.append(_Tok("WORD", rest, i + len(prefix) + 1))
        elif j >= len(q) or (q[j] != "(" and q[j] not in _QUOTES):
            raise QuerySyntaxError(f"expected a value right after '{prefix}:'", q, j + 1)
        return
    out.append(_Tok("WORD", word, i))


class _Parser:
    def __init__(self, q: str) -> None:
        self.q = q
        self.toks = _lex(q)
        self.i = 0
        self.field: str | None = None
        self.exclusions: list[list[Node]] = []

    def error(self, problem: str, tok: _Tok | None = None) -> QuerySyntaxError:
        return QuerySyntaxError(problem, self.q, (tok or self.peek()).pos + 1)

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def parse(self) -> Node:
        if self.peek().kind == "END":
            raise self.error("empty query")
        node = self.group()
        tok = self.peek()
        if tok.kind == ")":
            raise self.error("unmatched ')'")
        return node

    def group(self) -> Node:
        excluded: list[Node] = []
        self.exclusions.append(excluded)
        branches = [self.conjunction()]
        while self.peek().kind == "OR":
            self.take()
            branches.append(self.conjunction())
        self.exclusions.pop()
        node = branches[0] if len(branches) == 1 else _Or(branches)
        if excluded:
            node = _And([node, *(_Not(e, e.pos) for e in excluded)])
        return node

    def conjunction(self) -> Node:
        items: list[Node] = []
        excluded_here: _Tok | None = None
        while True:
            tok = self.peek()
            if tok.kind in ("END", ")", "OR"):
                break
            if tok.kind == "AND":
                if not items:
                    raise self.error("AND needs a term before it")
                self.take()
                if self.peek().kind in ("END", ")", "OR", "AND"):
                    raise self.error("expected a term after AND")
                continue
            if tok.kind == "MINUS":
                self.take()
                self.exclusions[-1].append(self.primary())
                excluded_here = excluded_here or tok
                continue
            items.append(self.unary())
        if not items:
            if excluded_here:
                raise self.error("an exclusion needs a term to exclude from", excluded_here)
            tok = self.peek()
            if tok.kind == "END":
                raise self.error("expected a term before the end of the query")
            raise self.error(f"expected a term before {tok.value!r}")
        return items[0] if len(items) == 1 else _And(items)

    def unary(self) -> Node:
        tok = self.peek()
        if tok.kind == "NOT":
            self.take()
            if self.peek().kind in ("END", ")", "OR", "AND"):
                raise self.error("expected a term after NOT")
            return _Not(self.unary(), tok.pos)
        return self.near()

    def near(self) -> Node:
        left = self.primary()
        while self.peek().kind == "NEAR":
            tok = self.take()
            right = self.primary()
            for side in (left, right):
                if not side.positional or side.field in ("site", "lang", "mixed"):
                    raise QuerySyntaxError(
                        "NEAR joins words or phrases (or an OR of them)", self.q, side.pos + 1
                    )
            if left.field != right.field:
                raise QuerySyntaxError(
                    "NEAR needs both sides in the same field", self.q, tok.pos + 1
                )
            left = _Near(left, right, int(tok.value), tok.pos)
        return left

    def primary(self) -> Node:
        tok = self.take()
        if tok.kind == "FIELD":
            if self.field is not None:
                raise self.error("a field prefix cannot stand inside another one", tok)
            self.field = tok.value
            try:
                return self.primary()
            finally:
                self.field = None
        if tok.kind == "(":
            if self.peek().kind == ")":
                raise self.error("empty parentheses")
            node = self.group()
            if self.peek().kind != ")":
                raise self.error("missing ')' for this '('", tok)
            self.take()
            return node
        if tok.kind in ("WORD", "PHRASE"):
            return self.leaf(tok)
        if tok.kind == "END":
            raise self.error("expected a term before the end of the query", tok)
        raise self.error(f"expected a term before {tok.value!r}", tok)

    def leaf(self, tok: _Tok) -> Node:
        field = self.field or "body"
        value = tok.value.strip()
        if field == "site":
            host = normalize_host(value)
            if not host:
                raise self.error("expected a host name like example.com", tok)
            return _Key("site", "\x00s:" + host, tok.pos)
        if field == "lang":
            tag = value.lower().replace("_", "-")
            if not _LANG.match(tag):
                raise self.error("expected a language code like en or pt-BR", tok)
            return _Key("lang", "\x00l:" + tag, tok.pos)
        tokens = tuple(query_tokens(value))
        if not tokens:
            raise self.error("a term needs letters or digits", tok)
        return Term(field, tokens, normalize_text(value), tok.pos)


def node_fields(node: Node) -> set[str]:
    found = {node.field}
    for attr in ("children", "child", "left", "right"):
        sub = getattr(node, attr, None)
        for c in sub if isinstance(sub, list) else [sub] if sub is not None else []:
            found |= node_fields(c)
    return found


def parse_query(q: str) -> Node:
    """The tree of ``q``; raises QuerySyntaxError."""
    return _Parser(q).parse()
