"""The chapters' excerpts of real output match what today's kernel prints: every code block
marked `<!-- output of: make run ... -->` (boot logs, QEMU monitor views, crash reports) is
compared with a real boot of that configuration, addresses and all (tests/docs_output.py).
After a change that moves them, `python3 tests/check_docs.py --update` rewrites the blocks."""

import docs_output


def test_chapter_excerpts_match_a_real_boot():
    results = docs_output.check_all()
    assert len(results) >= 10, f"only {len(results)} marked excerpts found"
    return results
