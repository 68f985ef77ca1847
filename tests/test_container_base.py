"""The base image's tarball cache, without root or podman: mmdebstrap is asked for a tar, stale leftovers go."""

from tests.helpers import container


def fake_mmdebstrap(calls):
    def run(*command, timeout_s=900):
        calls.append(command)
        with open(command[-1], "wb") as f:  # mmdebstrap's target: what --format=tar makes is one file
            f.write(b"tar")
        return ""

    return run


def test_the_base_is_built_as_a_tar_file_replacing_a_stale_folder(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(container, "run", fake_mmdebstrap(calls))
    stale = tmp_path / f"debian-{container.DEBIAN_SUITE}-python3.tar"
    (stale / "etc").mkdir(parents=True)  # what mmdebstrap made of a ".partial" target before --format=tar
    tarball = container.base_tarball(tmp_path)
    assert tarball.is_file() and tarball.read_bytes() == b"tar"
    assert "--format=tar" in calls[0] and calls[0][0] == "mmdebstrap"
    assert not list(tmp_path.glob("*.partial"))
    assert container.base_tarball(tmp_path) == tarball and len(calls) == 1  # cached: built once
