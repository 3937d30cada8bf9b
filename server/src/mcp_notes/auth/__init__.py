"""OAuth 2.1 resource server: verify bearer JWTs against the issuer's JWKS."""
