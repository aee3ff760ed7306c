"""The README's Python example runs as written."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_examples_run():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks
    for block in blocks:
        namespace: dict = {}
        exec(compile(block, "README.md", "exec"), namespace)
        if "res" in namespace:
            assert len(namespace["res"].sessions) > 0


def test_readme_spec_example_is_a_valid_spec_like_the_shipped_one():
    from simulation.sweep.spec import load_spec, parse_spec

    blocks = re.findall(r"```toml\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks
    spec = parse_spec(blocks[0])
    shipped = load_spec(README.parent / "experiments" / f"{spec.name}.toml")
    assert list(spec.vary) == list(shipped.vary)
