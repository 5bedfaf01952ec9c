"""Command-line clients of the S3 gateway: the AWS CLI (``aws s3`` and ``aws s3api``) and
rclone, each with a configuration of its own: listings, 64 MiB uploads in parts, copies
between branches, commits made through the REST API read back, and S3's error codes."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from conftest import BIG_OBJECT_SIZE, AwsCli, Rclone, file_digest
from test_clients_boto3 import changes, commit, create_branch

MIB = 1024 * 1024


def write_tree(root: Path, paths: list[str]) -> None:
    for path in paths:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(path.encode())


TREE = ["data/a/1.csv", "data/a/2.csv", "data/b/1.csv", "data/c.csv", "top.txt"]


# the AWS CLI -------------------------------------------------------------------------------


def test_aws_s3_sync_and_ls(aws: AwsCli, repo: str, tmp_path: Path, http: httpx.Client) -> None:
    local = tmp_path / "tree"
    write_tree(local, TREE)
    aws.run("s3", "sync", str(local), f"s3://{repo}/main/")
    assert changes(http, repo) == {path: "added" for path in TREE}
    listed = aws.run("s3", "ls", f"s3://{repo}/main/data/").stdout.splitlines()
    assert [line.split()[-1] for line in listed] == ["a/", "b/", "c.csv"]
    recursive = aws.run("s3", "ls", "--recursive", f"s3://{repo}/main/").stdout.splitlines()
    assert [line.split()[-1] for line in recursive] == [f"main/{path}" for path in TREE]
    # s3api pages through a listing with small pages
    paged = aws.run(
        "s3api", "list-objects-v2", "--bucket", repo, "--prefix", "main/data/", "--page-size", "1"
    )
    assert [o["Key"] for o in json.loads(paged.stdout)["Contents"]] == [
        f"main/{path}" for path in TREE if path.startswith("data/")
    ]
    buckets = aws.run("s3", "ls").stdout
    assert repo in buckets.split()


def test_aws_s3_cp_of_64_mib_goes_in_parts(aws: AwsCli, repo: str, big_file: Path, tmp_path: Path) -> None:
    aws.run("s3", "cp", str(big_file), f"s3://{repo}/main/big.bin")
    head = json.loads(aws.run("s3api", "head-object", "--bucket", repo, "--key", "main/big.bin").stdout)
    assert head["ContentLength"] == BIG_OBJECT_SIZE
    assert head["ETag"].strip('"').endswith(f"-{BIG_OBJECT_SIZE // (8 * MIB)}")
    back = tmp_path / "back.bin"
    aws.run("s3", "cp", f"s3://{repo}/main/big.bin", str(back))
    assert file_digest(back) == file_digest(big_file)


def test_aws_s3_cp_between_branches(aws: AwsCli, repo: str, http: httpx.Client, tmp_path: Path) -> None:
    source = tmp_path / "a.txt"
    source.write_bytes(b"from main")
    aws.run("s3", "cp", str(source), f"s3://{repo}/main/a.txt")
    create_branch(http, repo, "dev")
    aws.run("s3", "cp", f"s3://{repo}/main/a.txt", f"s3://{repo}/dev/copy/a.txt")
    assert changes(http, repo, "dev") == {"copy/a.txt": "added"}
    assert aws.run("s3", "cp", f"s3://{repo}/dev/copy/a.txt", "-").stdout == "from main"


def test_aws_reads_a_commit_made_through_the_rest_api(
    aws: AwsCli, repo: str, http: httpx.Client, tmp_path: Path
) -> None:
    source = tmp_path / "v.txt"
    source.write_bytes(b"committed")
    aws.run("s3", "cp", str(source), f"s3://{repo}/main/v.txt")
    committed = commit(http, repo)
    aws.run("s3", "rm", f"s3://{repo}/main/v.txt")
    assert aws.run("s3", "cp", f"s3://{repo}/{committed}/v.txt", "-").stdout == "committed"
    listed = aws.run("s3", "ls", f"s3://{repo}/{committed}/").stdout
    assert "v.txt" in listed


def test_aws_errors_carry_s3_codes(aws: AwsCli, repo: str, http: httpx.Client, tmp_path: Path) -> None:
    missing = aws.run(
        "s3api", "get-object", "--bucket", repo, "--key", "main/nope", str(tmp_path / "o"), check=False
    )
    assert missing.returncode != 0 and "NoSuchKey" in missing.stderr
    no_bucket = aws.run("s3api", "list-objects-v2", "--bucket", "no-such-repository", check=False)
    assert no_bucket.returncode != 0 and "NoSuchBucket" in no_bucket.stderr
    source = tmp_path / "a.txt"
    source.write_bytes(b"a")
    aws.run("s3", "cp", str(source), f"s3://{repo}/main/a.txt")
    committed = commit(http, repo)
    denied = aws.run(
        "s3api",
        "put-object",
        "--bucket",
        repo,
        "--key",
        f"{committed}/b.txt",
        "--body",
        str(source),
        check=False,
    )
    assert denied.returncode != 0 and "AccessDenied" in denied.stderr
    versions = aws.run("s3api", "list-object-versions", "--bucket", repo, check=False)
    assert versions.returncode != 0 and "NotImplemented" in versions.stderr
    env = aws.env()
    env["AWS_SECRET_ACCESS_KEY"] = "not-the-secret-access-key"
    wrong = aws.run("s3", "ls", f"s3://{repo}/main/", check=False, env=env)
    assert wrong.returncode != 0 and "SignatureDoesNotMatch" in wrong.stderr


# rclone ------------------------------------------------------------------------------------


def test_rclone_copy_and_lsf(rclone: Rclone, repo: str, tmp_path: Path, http: httpx.Client) -> None:
    local = tmp_path / "tree"
    write_tree(local, TREE)
    rclone.run("copy", str(local), f"limnos:{repo}/main")
    assert changes(http, repo) == {path: "added" for path in TREE}
    assert rclone.run("lsf", f"limnos:{repo}/main/data").stdout.splitlines() == ["a/", "b/", "c.csv"]
    recursive = rclone.run("lsf", "-R", "--files-only", f"limnos:{repo}/main").stdout.splitlines()
    assert sorted(recursive) == sorted(TREE)
    assert rclone.run("cat", f"limnos:{repo}/main/data/c.csv").stdout == "data/c.csv"
    back = tmp_path / "back"
    rclone.run("copy", f"limnos:{repo}/main", str(back))
    assert sorted(str(p.relative_to(back)) for p in back.rglob("*") if p.is_file()) == sorted(TREE)
    rclone.run("check", str(local), f"limnos:{repo}/main")


def test_rclone_multipart_upload_of_64_mib(rclone: Rclone, repo: str, big_file: Path, tmp_path: Path) -> None:
    rclone.run(
        "copyto",
        "--s3-chunk-size",
        "8M",
        "--s3-upload-cutoff",
        "8M",
        str(big_file),
        f"limnos:{repo}/main/big.bin",
    )
    sizes = rclone.run("lsf", "--format", "ps", f"limnos:{repo}/main/").stdout.splitlines()
    assert sizes == [f"big.bin;{BIG_OBJECT_SIZE}"]
    back = tmp_path / "back.bin"
    rclone.run("copyto", f"limnos:{repo}/main/big.bin", str(back))
    assert file_digest(back) == file_digest(big_file)


def test_rclone_copies_between_branches_and_reads_commits(
    rclone: Rclone, repo: str, http: httpx.Client
) -> None:
    rclone.run("rcat", f"limnos:{repo}/main/a.txt", input_text="from main")
    committed = commit(http, repo)
    create_branch(http, repo, "dev")
    rclone.run("copyto", f"limnos:{repo}/main/a.txt", f"limnos:{repo}/dev/b.txt")
    assert changes(http, repo, "dev") == {"b.txt": "added"}
    assert rclone.run("cat", f"limnos:{repo}/dev/b.txt").stdout == "from main"
    assert rclone.run("cat", f"limnos:{repo}/{committed}/a.txt").stdout == "from main"
    refused = rclone.run("rcat", f"limnos:{repo}/{committed}/c.txt", input_text="x", check=False)
    assert refused.returncode != 0 and "AccessDenied" in refused.stderr
