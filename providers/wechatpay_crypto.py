"""Pure WeChat Pay v3 helpers shared by the client and the simulator: RSA-SHA256 signatures, the signed
messages, the Authorization header, AEAD_AES_256_GCM resources, key loading and the RFC 3339 time format.
No I/O, no state."""
from __future__ import annotations

import base64
import re
import secrets
import string
from datetime import datetime, timedelta, timezone

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

AUTH_SCHEME = "WECHATPAY2-SHA256-RSA2048"
CHINA_TZ = timezone(timedelta(hours=8))
_NONCE_ALPHABET = string.ascii_uppercase + string.digits
_AUTH_FIELD = re.compile(r'(\w+)="([^"]*)"')


# --- keys -------------------------------------------------------------------------------------------

def load_private_key(pem: str | bytes, *, validate: bool = True) -> rsa.RSAPrivateKey:
    """Load an unencrypted PKCS#8/PKCS#1 RSA private key; ValueError if it is not one. `validate=False` skips
    OpenSSL's consistency check (~50 ms): only for keys this process generated itself (the simulator)."""
    key = serialization.load_pem_private_key(_as_bytes(pem), password=None,
                                             unsafe_skip_rsa_key_validation=not validate)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("not an RSA private key")
    return key


def load_public_key(pem: str | bytes) -> rsa.RSAPublicKey:
    """Load an RSA public key (SubjectPublicKeyInfo PEM); ValueError if it is not one."""
    key = serialization.load_pem_public_key(_as_bytes(pem))
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("not an RSA public key")
    return key


def generate_private_key_pem(bits: int = 2048) -> str:
    """A fresh RSA private key as unencrypted PKCS#8 PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def public_key_pem(private_key_pem: str | bytes) -> str:
    """The SubjectPublicKeyInfo PEM of a private key."""
    public = load_private_key(private_key_pem).public_key()
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def new_nonce(length: int = 32) -> str:
    """A random nonce of upper-case letters and digits, as WeChat Pay uses."""
    return "".join(secrets.choice(_NONCE_ALPHABET) for _ in range(length))


# --- signatures -------------------------------------------------------------------------------------

def sign(private_key: rsa.RSAPrivateKey, message: bytes) -> str:
    """base64 of RSA-SHA256 (PKCS#1 v1.5) over message."""
    return base64.b64encode(private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def verify(public_key: rsa.RSAPublicKey, message: bytes, signature: str) -> bool:
    """True when signature (base64) is a valid RSA-SHA256 signature of message."""
    try:
        raw = base64.b64decode(signature, validate=True)
        public_key.verify(raw, message, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):  # binascii.Error is a ValueError
        return False
    return True


def request_message(method: str, url: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    """What a merchant signs: "METHOD\\nURL_PATH_WITH_QUERY\\nTIMESTAMP\\nNONCE\\nBODY\\n"."""
    return f"{method.upper()}\n{url}\n{timestamp}\n{nonce}\n".encode() + body + b"\n"


def response_message(timestamp: str, nonce: str, body: bytes) -> bytes:
    """What WeChat Pay signs in responses and notifications: "TIMESTAMP\\nNONCE\\nBODY\\n"."""
    return f"{timestamp}\n{nonce}\n".encode() + body + b"\n"


def pay_sign_message(appid: str, timestamp: str, nonce: str, package: str) -> bytes:
    """What the merchant signs for wx.requestPayment: "appId\\ntimeStamp\\nnonceStr\\npackage\\n"."""
    return f"{appid}\n{timestamp}\n{nonce}\n{package}\n".encode()


def authorization_header(private_key: rsa.RSAPrivateKey, *, mchid: str, serial_no: str, method: str, url: str,
                         body: bytes, timestamp: str, nonce: str) -> str:
    """The Authorization header of a merchant request."""
    signature = sign(private_key, request_message(method, url, timestamp, nonce, body))
    return (f'{AUTH_SCHEME} mchid="{mchid}",nonce_str="{nonce}",signature="{signature}",'
            f'timestamp="{timestamp}",serial_no="{serial_no}"')


def parse_authorization(header: str) -> dict[str, str]:
    """The fields of an Authorization header (mchid, nonce_str, signature, timestamp, serial_no);
    ValueError when the scheme is wrong or a field is missing."""
    scheme, _, params = header.strip().partition(" ")
    if scheme != AUTH_SCHEME:
        raise ValueError("unsupported authorization scheme")
    fields = dict(_AUTH_FIELD.findall(params))
    missing = {"mchid", "nonce_str", "signature", "timestamp", "serial_no"} - fields.keys()
    if missing:
        raise ValueError(f"authorization lacks {', '.join(sorted(missing))}")
    return fields


# --- AEAD_AES_256_GCM resources -----------------------------------------------------------------------

def encrypt_resource(api_v3_key: str, plaintext: bytes, nonce: str, associated_data: str) -> str:
    """base64 of AES-256-GCM ciphertext with its 16-byte tag appended, as in notification resources."""
    sealed = AESGCM(_api_key_bytes(api_v3_key)).encrypt(nonce.encode(), plaintext, associated_data.encode())
    return base64.b64encode(sealed).decode()


def decrypt_resource(api_v3_key: str, ciphertext: str, nonce: str, associated_data: str) -> bytes:
    """Open a notification resource; ValueError when it is not authentic or not well formed."""
    try:
        sealed = base64.b64decode(ciphertext, validate=True)
        return AESGCM(_api_key_bytes(api_v3_key)).decrypt(nonce.encode(), sealed, associated_data.encode())
    except (InvalidTag, ValueError) as exc:
        raise ValueError("resource cannot be decrypted") from exc


# --- wire formats -----------------------------------------------------------------------------------

def format_time(moment: datetime) -> str:
    """RFC 3339 in China Standard Time, e.g. 2026-11-27T10:00:00+08:00; naive datetimes are refused."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return moment.astimezone(CHINA_TZ).isoformat(timespec="seconds")


def parse_time(text: str) -> datetime:
    """An aware datetime from RFC 3339; ValueError when it has no offset."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("time without offset")
    return moment


def _api_key_bytes(api_v3_key: str) -> bytes:
    raw = api_v3_key.encode()
    if len(raw) != 32:
        raise ValueError("the APIv3 key must be 32 bytes")
    return raw


def _as_bytes(text: str | bytes) -> bytes:
    return text.encode() if isinstance(text, str) else text
