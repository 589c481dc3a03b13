"""An OCI layout directory someone else made (`vessel pull oci:DIR`) is
hostile input: its index.json, oci-layout and blobs are opened beneath it
and only as regular files, so a FIFO cannot hang the pull and a device node
is never read (docs/security.md, "Files a container controls, read by the
engine"). Each test has its own data root under its tmp_path."""

import os
import subprocess

import pytest

from test_images import Img, hexof, images, sha, simple_layer, write_layout  # noqa: F401

HANG = 30  # a pull that blocks on a FIFO is killed after this


@pytest.mark.parametrize("member", ["index.json", "oci-layout", "manifest", "config", "layer"])
def test_pull_oci_layout_never_opens_a_fifo(images, tmp_path, member):
    img = Img([simple_layer("one")])
    layout = write_layout(tmp_path / "layout", [(img, "v1")])
    name = {"manifest": f"blobs/sha256/{hexof(sha(img.manifest_bytes))}",
            "config": f"blobs/sha256/{hexof(img.id)}",
            "layer": f"blobs/sha256/{hexof(sha(img.layers[0]))}"}.get(member, member)
    path = layout / name
    assert path.is_file(), name
    path.unlink()
    os.mkfifo(path)
    try:
        p = images.fails("pull", f"oci:{layout}:v1", timeout=HANG, mentions=["FIFO"])
    except subprocess.TimeoutExpired:
        pytest.fail(f"pull opened the layout's FIFO {name} and hung")
    assert p.stderr.count("\n") == 1, p.stderr
    assert images.images() == []


def test_pull_oci_layout_still_works(images, tmp_path):
    img = Img([simple_layer("one")])
    layout = write_layout(tmp_path / "layout", [(img, "v1")])
    assert images.ok("pull", f"oci:{layout}:v1").strip() == "Loaded image: layout:v1"
