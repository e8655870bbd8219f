"""/adapters on a real server: PEFT uploads, a merge in the worker process recorded with its
parents, activation, rollback (the seed's curl line as written, no Content-Type)."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest

from pattern_memory.team.models import AdapterList, AdapterVersionOut
from tests.adapters.lora_files import exact_update, make_adapter, merged_update, relative_error

SEED_ID = "123e4567-e89b-12d3-a456-426614174000"


@pytest.fixture(scope="module")
def keys(team_server):  # type: ignore[no-untyped-def]
    return {
        "admin": team_server.key("alice", "core", admin=True),
        "member": team_server.key("bob", "core"),
        "stranger": team_server.key("carol", "other", admin=True),
    }


def upload(client, folder: Path, name: str) -> AdapterVersionOut:  # type: ignore[no-untyped-def]
    with (
        open(folder / "adapter_model.safetensors", "rb") as w,
        open(folder / "adapter_config.json", "rb") as c,
    ):
        response = client.post(
            "/adapters",
            files=[
                ("files", ("adapter_model.safetensors", w)),
                ("files", ("adapter_config.json", c)),
            ],
            data={"version_name": name},
        )
    assert response.status_code == 201, response.text
    return AdapterVersionOut.model_validate(response.json())


def test_upload_merge_activate_rollback(team_server, keys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    alice_dir, bob_dir = tmp_path / "alice", tmp_path / "bob"
    alice_dir.mkdir()
    bob_dir.mkdir()
    alice, bob = make_adapter(alice_dir, seed=1), make_adapter(bob_dir, seed=2)
    with team_server.client(keys["member"]) as member, team_server.client(keys["admin"]) as admin:
        first = upload(member, alice_dir, "user-alice-v3")
        second = upload(member, bob_dir, "user-bob-v2")
        assert (first.kind, first.is_active, first.created_by) == ("upload", False, "bob")
        assert first.adapter_path.endswith("versions/user-alice-v3.safetensors")
        assert not Path(first.adapter_path).is_absolute()
        response = member.post(
            "/adapters/merge",
            json={
                "inputs": [first.id, second.id],
                "success_rates": [0.85, 0.65],
                "version_name": "v2.1-team-merge",
            },
        )
        assert response.status_code == 201, response.text
        merged = AdapterVersionOut.model_validate(response.json())
        assert merged.kind == "merge" and merged.parents == [first.id, second.id]
        assert merged.weights == pytest.approx([0.85 / 1.5, 0.65 / 1.5])
        storage_file = team_server.storage / merged.adapter_path
        want = exact_update([alice, bob], [0.85 / 1.5, 0.65 / 1.5])
        got = merged_update(
            storage_file, storage_file.with_name("v2.1-team-merge.adapter_config.json")
        )
        assert max(relative_error(got[k], want[k]) for k in want) < 1e-2
        # Members merge; only admins change the active version.
        assert member.post(f"/adapters/{merged.id}/activate").status_code == 403
        assert admin.post(f"/adapters/{first.id}/activate").json()["is_active"]
        active = AdapterVersionOut.model_validate(
            admin.post(f"/adapters/{merged.id}/activate").json()
        )
        assert active.is_active
        listed = AdapterList.model_validate(admin.get("/adapters").json())
        assert listed.active_id == merged.id
        assert listed.adapters[0].version_name == "v2.1-team-merge"
        # Rollback with no body: the version active before.
        back = admin.post("/adapters/rollback")
        assert back.status_code == 200, back.text
        assert back.json()["id"] == first.id
        registry_copy = (
            team_server.storage
            / listed.adapters[0].adapter_path.split("/")[0]
            / "merged.safetensors"
        )
        assert registry_copy.read_bytes() == (alice_dir / "adapter_model.safetensors").read_bytes()
        # Another team sees none of it.
        with team_server.client(keys["stranger"]) as stranger:
            assert stranger.get("/adapters").json()["adapters"] == []
            assert stranger.post(f"/adapters/{first.id}/activate").status_code == 404
            assert (
                stranger.post("/adapters/merge", json={"inputs": [first.id, second.id]}).status_code
                == 404
            )
    # The seed's rollback line, as written (no Content-Type), to a version with its id.
    team_server.sql("UPDATE adapter_versions SET id = %s WHERE id = %s", (SEED_ID, second.id))
    line = """curl -X POST -H "X-API-Key: your-api-key" \
  -d '{"version_id": "123e4567-e89b-12d3-a456-426614174000"}' \
  "http://localhost:8000/adapters/rollback" """
    line = line.replace("your-api-key", keys["admin"]).replace(
        "http://localhost:8000", team_server.url
    )
    done = subprocess.run(
        [*shlex.split(line), "-s", "-w", "\n%{http_code}"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    body, _, code = done.stdout.rpartition("\n")
    assert code == "200", body
    assert AdapterVersionOut.model_validate_json(body).version_name == "user-bob-v2"


def test_bad_uploads_and_merges_are_one_line_422s_without_paths(
    team_server, keys, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")
    with team_server.client(keys["member"]) as client:
        with open(bad, "rb") as stream:
            response = client.post("/adapters", files={"file": ("bad.safetensors", stream)})
        assert response.status_code == 422
        detail = response.json()["detail"]
        assert str(team_server.storage) not in detail and "\n" not in detail
        assert client.post("/adapters", files={"file": ("x.txt", b"hi")}).status_code == 422
        response = client.post("/adapters/merge", json={"inputs": ["a", "b"], "weights": [1.0]})
        assert response.status_code == 422
        assert client.post("/adapters/rollback", content=b"{oops").status_code == 422
