"""`python -m platescan users add EMAIL [--admin]`: invite someone, on AWS or locally.

On AWS (`--user-pool-id`, the stack output `user_pool_id`), Cognito creates the user and
e-mails them a temporary password; they choose their own at their first sign-in. This is
how accounts are made on a stack whose sign-up is invitation only. With `--local URL`
(default), the running local service creates the user the same way and this command prints
the temporary password, as there is no e-mail to send.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from typing import Any

from platescan.auth import ADMIN_GROUP

LOCAL_URL = "http://127.0.0.1:8000"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="users_command", required=True)
    add = sub.add_parser("add", help="invite a user (they choose a password at first sign-in)")
    add.add_argument("email")
    add.add_argument("--admin", action="store_true", help=f"also add them to '{ADMIN_GROUP}'")
    where = add.add_mutually_exclusive_group()
    where.add_argument("--user-pool-id", help="the stack's user pool (AWS)")
    where.add_argument(
        "--local",
        nargs="?",
        const=LOCAL_URL,
        default=None,
        metavar="URL",
        help=f"the running local service (default {LOCAL_URL})",
    )


def add_on_aws(email: str, user_pool_id: str, *, admin: bool) -> dict[str, Any]:
    """Create the user in the pool; Cognito e-mails them the temporary password."""
    from platescan import aws

    cognito = aws.client("cognito-idp")
    cognito.admin_create_user(
        UserPoolId=user_pool_id,
        Username=email,
        UserAttributes=[
            {"Name": "email", "Value": email},
            {"Name": "email_verified", "Value": "true"},
        ],
        DesiredDeliveryMediums=["EMAIL"],
    )
    if admin:
        cognito.admin_add_user_to_group(
            UserPoolId=user_pool_id, Username=email, GroupName=ADMIN_GROUP
        )
    return {"email": email, "admin": admin, "invited_by": "e-mail"}


def add_locally(email: str, url: str, *, admin: bool) -> dict[str, Any]:
    """Ask the running local service to create the user; returns its answer."""
    request = urllib.request.Request(
        f"{url.rstrip('/')}/local-admin/users",
        data=json.dumps({"email": email, "admin": admin}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return dict(json.loads(response.read()))
    except urllib.error.HTTPError as exc:
        message = json.loads(exc.read() or b"{}").get("message", exc.reason)
        raise RuntimeError(f"the local service refused: {message}") from exc
    except urllib.error.URLError as exc:
        raise RuntimeError(f"no local service answers at {url}: start it with `make run`") from exc


def main(args: argparse.Namespace) -> int:
    try:
        if args.user_pool_id:
            added = add_on_aws(args.email, args.user_pool_id, admin=args.admin)
        else:
            added = add_locally(args.email, args.local or LOCAL_URL, admin=args.admin)
    except Exception as exc:  # a clear line, not a traceback
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(added))
    if added.get("temporary_password"):
        print(
            f"{args.email} signs in with the temporary password above and chooses their own.",
            file=sys.stderr,
        )
    return 0
