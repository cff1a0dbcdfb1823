"""remember(chunk) through the engine: a document's chunks fit a default recall's context whole."""

from __future__ import annotations

from memorylayer.engine import Engine
from memorylayer.engine.chunking import split_document

GUIDE = "\n\n".join(
    [
        "# Deploy guide",
        "## Rollback",
        "When a release misbehaves, run the rollback job from the pipeline page. It restores the previous "
        "container image and replays the last known good configuration. The job needs the release manager's "
        "approval in production and takes about four minutes. Staging rolls back without approval.",
        "After a rollback, open an incident ticket and attach the job's log so the on-call engineer can "
        "follow what happened. Keep the broken image: it is needed for the post-mortem.",
        "If the rollback job itself fails, page the platform team and freeze the pipeline. Do not push a "
        "hotfix on top of a half-restored release; the platform team will restore the image by hand from "
        "the registry and rerun the database migrations in reverse order before the pipeline reopens.",
        "## Secrets",
        "Secrets live in the vault under the team's path. Rotate the database password every ninety days; "
        "the rotation job posts the new password's version to the deploy channel.",
    ]
)


def test_each_chunk_of_a_document_comes_back_whole_in_a_default_recall(engine: Engine) -> None:
    engine.remember_document("ops", "deploy.md", GUIDE)

    result = engine.recall("ops", "How do I roll back a release that misbehaves?")

    assert result.hits, "the rollback chunk fits recall's default 600-character budget"
    assert result.hits[0].memory.key == "deploy.md#0"
    assert "rollback job from the pipeline page" in result.context
    assert len(result.context) <= 600


def test_long_paragraphs_are_packed_into_chunks_that_fit_the_default_budget() -> None:
    paragraph = " ".join(f"Sentence number {i} of a long runbook paragraph about the deploy." for i in range(80))

    chunks = split_document(f"# Runbook\n\n{paragraph}")

    assert len(chunks) > 5
    assert all(len(f"runbook.md#{c.position}: {c.value}") <= 600 for c in chunks)
