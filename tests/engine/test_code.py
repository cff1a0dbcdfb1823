"""code(ingest) and code(locate) on a small real tree: symbols, .gitignore, incremental re-ingest, forgetting."""

from __future__ import annotations

from pathlib import Path

import pytest

from memorylayer.engine import Engine
from memorylayer.engine.code import split_identifiers
from memorylayer.errors import InvalidRequest

FILES = {
    "app/billing.py": '''"""Invoices and payments."""


class InvoiceBuilder:
    """Builds an invoice from the order lines."""

    def add_line(self, sku: str, amount: int) -> None:
        """Add one order line to the invoice."""
        self.lines.append((sku, amount))


def refund_payment(payment_id: str) -> bool:
    """Give the customer their money back for a payment."""
    return True
''',
    "web/auth.ts": """// Checks the session cookie and signs the user in.
export function verifySessionToken(token: string): boolean {
  return token.length > 0;
}
""",
    "server/ratelimit.go": """package server

// TokenBucket throttles requests per API key.
type TokenBucket struct{ tokens int }

// Allow reports whether one more request may pass.
func (b *TokenBucket) Allow() bool { return b.tokens > 0 }
""",
    "README.md": "# Shop\n\nA tiny shop.\n",
    "node_modules/lib/index.js": "function vendored() {}\n",
    "secret/keys.py": "def leaked_key():\n    return 'x'\n",
    ".gitignore": "secret/\n*.log\n",
    "debug.log": "noise\n",
}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for rel, text in FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (root / "logo.png").write_bytes(b"\x89PNG\r\n\x00\x00binary")
    return root


def test_split_identifiers_breaks_camel_case_snake_case_and_paths() -> None:
    assert split_identifiers("parseHTTPHeader_v2") == ["parse", "http", "header", "v2"]
    assert split_identifiers("src/memory_layer/InvoiceBuilder.py") == [
        "src",
        "memory",
        "layer",
        "invoice",
        "builder",
        "py",
    ]


def test_ingest_indexes_symbols_of_each_language_and_respects_gitignore_and_vendored_folders(
    engine: Engine, tree: Path
) -> None:
    summary = engine.code_ingest("shop", root=tree)
    assert (summary.files, summary.added, summary.unchanged, summary.removed) == (
        4,
        4,
        0,
        0,
    )  # 3 code files and the README
    assert summary.languages == {"go": 1, "python": 1, "text": 1, "typescript": 1}
    assert summary.skipped.ignored == 2  # secret/ and debug.log
    assert summary.skipped.other_type == 2  # logo.png, .gitignore
    keys = {m.key for m in engine.iter_all(scope="shop")}
    assert "code:app/billing.py#InvoiceBuilder.add_line" in keys
    assert "code:web/auth.ts#verifySessionToken" in keys
    assert "code:server/ratelimit.go#TokenBucket" in keys
    assert not any("secret" in (k or "") or "node_modules" in (k or "") for k in keys)


@pytest.mark.parametrize(
    ("question", "path", "symbol", "lines"),
    [
        ("where do we give customers their money back", "app/billing.py", "refund_payment", (12, 14)),
        ("add a line to an invoice", "app/billing.py", "InvoiceBuilder.add_line", (7, 9)),
        ("session token verification", "web/auth.ts", "verifySessionToken", (2, 4)),
        ("throttle requests per API key", "server/ratelimit.go", "TokenBucket", (4, 4)),
    ],
)
def test_locate_answers_with_path_lines_symbol_and_snippet(
    engine: Engine, tree: Path, question: str, path: str, symbol: str, lines: tuple[int, int]
) -> None:
    engine.code_ingest("shop", root=tree)
    best = engine.code_locate("shop", question, top_k=3)[0]
    assert (best.path, best.symbol, (best.start_line, best.end_line)) == (path, symbol, lines)
    assert symbol.split(".")[-1] in best.snippet
    assert 0.0 <= best.score <= 1.0


def test_reingest_touches_only_the_changed_file_and_forgets_removed_ones(engine: Engine, tree: Path) -> None:
    engine.code_ingest("shop", root=tree)
    untouched = engine.get_key("shop", "code:web/auth.ts#verifySessionToken")
    (tree / "app" / "billing.py").write_text(
        FILES["app/billing.py"].replace("refund_payment", "reverse_charge"), encoding="utf-8"
    )
    (tree / "server" / "ratelimit.go").unlink()
    summary = engine.code_ingest("shop", root=tree)
    assert (summary.added, summary.changed, summary.unchanged, summary.removed) == (0, 1, 2, 1)
    assert engine.get_key("shop", "code:app/billing.py#refund_payment") is None
    assert engine.get_key("shop", "code:app/billing.py#reverse_charge") is not None
    assert engine.get_key("shop", "code:server/ratelimit.go#TokenBucket") is None
    assert engine.history(scope="shop", key="code:app/billing.py#refund_payment") == []  # forgotten for real
    assert engine.get_key("shop", "code:web/auth.ts#verifySessionToken") == untouched  # not rewritten


def test_files_sent_by_a_client_are_checked(engine: Engine) -> None:
    with pytest.raises(InvalidRequest, match=r"files\[0\].path"):
        engine.code_ingest("shop", files=[{"path": "../etc/passwd", "text": "x"}])  # type: ignore[list-item]
    with pytest.raises(InvalidRequest, match="not both"):
        engine.code_ingest("shop")
    with pytest.raises(InvalidRequest, match="not a folder"):
        engine.code_ingest("shop", root="/nonexistent/folder")
    summary = engine.code_ingest("shop", files=[{"path": "a/b.py", "text": "def f():\n    pass\n"}])  # type: ignore[list-item]
    assert (summary.added, summary.symbols) == (1, 1)
