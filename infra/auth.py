"""Accounts: the Cognito user pool, the website's app client, and the `admins` group.

The API's JWT authorizer trusts this pool as issuer and this client as audience. Sign-up is
open (anyone, confirmed by a code sent to their e-mail) or by invitation only (an admin
runs `python -m platescan users add EMAIL`), from stack config; so are MFA, the password
length and the daily upload quota the API enforces.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.config import StackConfig
from platescan.auth import ADMIN_GROUP

# Short-lived access tokens (what the API accepts) and a month of quiet refreshes.
ACCESS_TOKEN_MINUTES = 60
REFRESH_TOKEN_DAYS = 30


@dataclass
class AuthArgs:
    config: StackConfig


class Auth(pulumi.ComponentResource):
    """User pool, app client without a secret (a browser holds it), `admins` group."""

    issuer: pulumi.Output[str]
    user_pool_id: pulumi.Output[str]
    client_id: pulumi.Output[str]

    def __init__(self, name: str, args: AuthArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platescan:infra:Auth", name, None, opts)
        cfg = args.config
        accounts = cfg.accounts
        child = pulumi.ResourceOptions(parent=self)
        self.user_pool = aws.cognito.UserPool(
            f"{name}-users",
            name=f"{cfg.prefix}-users",
            username_attributes=["email"],
            auto_verified_attributes=["email"],
            admin_create_user_config={
                "allow_admin_create_user_only": accounts.sign_up == "invite",
            },
            password_policy={
                "minimum_length": accounts.password_min_length,
                # Length, not character classes, is what makes a password hard to guess.
                "require_lowercase": False,
                "require_uppercase": False,
                "require_numbers": False,
                "require_symbols": False,
                "temporary_password_validity_days": 7,
            },
            mfa_configuration=accounts.mfa,
            # An authenticator app: MFA without SMS costs or an SNS role.
            software_token_mfa_configuration={"enabled": accounts.mfa != "OFF"},
            account_recovery_setting={
                "recovery_mechanisms": [{"name": "verified_email", "priority": 1}]
            },
            deletion_protection="ACTIVE" if cfg.protect_data else "INACTIVE",
            opts=child,
        )
        self.client = aws.cognito.UserPoolClient(
            f"{name}-site-client",
            name=f"{cfg.prefix}-site",
            user_pool_id=self.user_pool.id,
            generate_secret=False,
            explicit_auth_flows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            # "The email or password is not right" whether or not the account exists.
            prevent_user_existence_errors="ENABLED",
            enable_token_revocation=True,
            access_token_validity=ACCESS_TOKEN_MINUTES,
            id_token_validity=ACCESS_TOKEN_MINUTES,
            refresh_token_validity=REFRESH_TOKEN_DAYS,
            token_validity_units={
                "access_token": "minutes",
                "id_token": "minutes",
                "refresh_token": "days",
            },
            opts=child,
        )
        self.admins = aws.cognito.UserGroup(
            f"{name}-admins",
            name=ADMIN_GROUP,
            user_pool_id=self.user_pool.id,
            description="May read every record, with its internal fields",
            opts=child,
        )
        self.user_pool_id = self.user_pool.id
        self.client_id = self.client.id
        self.issuer = pulumi.Output.concat(
            "https://cognito-idp.", cfg.region, ".amazonaws.com/", self.user_pool.id
        )
        self.register_outputs(
            {"user_pool_id": self.user_pool_id, "client_id": self.client_id, "issuer": self.issuer}
        )
