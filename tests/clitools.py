"""Running the `symnoether` command in tests: exit code, stdout, stderr (no traceback)."""

import textwrap

from symnoether.cli import main

OSCILLATOR = textwrap.dedent("""
    import symnoether as sn
    c = sn.coordinates("x y", blocks={"x": ["x", "y"]})
    system = sn.System("osc", c, sn.rotations(c, ["x"]),
                       lagrangian=sum(v**2 for v in c.qdot) / 2 - sum(x**2 for x in c.q) / 2,
                       initial_state=((1.0, 0.0), (0.0, 1.0)))
""")


def cli(capsys, *argv) -> tuple[int, str]:
    """Run the command; return its exit code and its stderr without progress lines (its
    stdout is left in `cli.out`). An exception escaping `main` fails the test."""
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    cli.out = captured.out
    return code, "\n".join(line for line in captured.err.splitlines()
                           if not line.startswith(("[symnoether]", "epoch ")))
