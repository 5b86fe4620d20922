from igcl.cli.main import STAGES, main


def test_help_lists_every_stage(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for stage in STAGES:
        assert stage in out


def test_unknown_stage_is_an_error(capsys):
    assert main(["pretrian"]) == 2
    assert "unknown stage 'pretrian'" in capsys.readouterr().err


def test_no_arguments_prints_usage(capsys):
    assert main([]) == 2
    assert "usage: igcl" in capsys.readouterr().out


