"""Docker parity (issue 17), sixth round: template methods with arguments
({{.Label "k"}} of ps, volume ls, network ls), run/create -q, and --device
of a directory. Each test checks the real effect and the bad inputs (one
error line, exit 125, nothing created)."""

import json

from test_engine import engine, engine_data  # noqa: F401 (fixtures)


def _bad(engine, *args, want):
    """A bad input: exit 125, one error line naming the problem, no record."""
    before = engine.records()
    res = engine(*args)
    assert res.returncode == 125, (res.returncode, res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and want in lines[0], res.stderr
    assert engine.records() == before


# --------------------------------------------------------------------------
# {{.Label "k"}}


def test_ps_format_label_method(engine):
    engine.ok("create", "--name", "la", "--label", "com.example.k=v 1,x", "--label", "other=o",
              "busybox", "true")
    engine.ok("create", "--name", "lb", "busybox", "true")
    out = engine.ok("ps", "-a", "--format", '{{.Names}}={{.Label "com.example.k"}}|'
                    '{{.Label "nosuch"}}|{{"other" | .Label}}')
    assert sorted(out.splitlines()) == ["la=v 1,x||o", "lb=||"]
    # a method: in a pipeline, in parentheses, through $ and with
    out = engine.ok("ps", "-a", "--filter", "name=la", "--format",
                    '{{.Label "other" | upper}} {{printf "%q" (.Label "com.example.k")}} '
                    '{{range $i, $n := split .Names ","}}{{$.Label "other"}}{{end}} '
                    '{{with .}}{{.Label "other"}}{{end}}')
    assert out == 'O "v 1,x" o o\n'
    # not a field: json . leaves it out; Labels is still the joined text
    row = json.loads(engine.ok("ps", "-a", "--filter", "name=la", "--format", "{{json .}}"))
    assert "Label" not in row
    assert "other=o" in row["Labels"] and "com.example.k=v 1,x" in row["Labels"]
    # a table: the header's Label is a title made of the name (Docker's
    # SubHeaderContext.Label: the last dot-separated part, - and _ as spaces)
    out = engine.ok("ps", "-a", "--filter", "name=la", "--format",
                    'table {{.Names}}\\t{{.Label "other"}}\\t{{.Label "com.example.my-key_x"}}|')
    assert out.splitlines() == ["NAMES     other     my key x|", "la        o         |"], out
    # Go's errors, exit 125 as every template error of ps
    for fmt, want in [('{{.Label}}', "wrong number of args for Label: want 1 got 0"),
                      ('{{.Label "a" "b"}}', "wrong number of args for Label: want 1 got 2"),
                      ('{{.Label 1}}', "expected string; found 1"),
                      ('{{.Names "a"}}', "wrong number of args for Names: want 0 got 1")]:
        res = engine("ps", "-a", "--format", fmt)
        assert res.returncode != 0 and want in res.stderr, (fmt, res.stderr)


def test_volume_ls_label_method(engine):
    engine.ok("volume", "create", "--label", "tier=db", "lv1")
    engine.ok("volume", "create", "lv2")
    out = engine.ok("volume", "ls", "--format", '{{.Name}}:{{.Label "tier"}}')
    assert sorted(out.split()) == ["lv1:db", "lv2:"]
    out = engine.ok("volume", "ls", "--filter", "name=lv1", "--format",
                    'table {{.Name}}\\t{{.Label "tier"}}')
    assert out.splitlines() == ["VOLUME NAME   tier", "lv1           db"], out
    engine.ok("volume", "rm", "lv1", "lv2")
