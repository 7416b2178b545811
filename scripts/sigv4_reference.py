#!/usr/bin/env python3
"""Writes SigV4 reference vectors computed by botocore's signer (the venv's botocore).

Each case is a request written for this project; botocore's SigV4Auth computes its
canonical request, string to sign and Authorization header with AWS's documented
example credentials, date, region and service. The Swift unit tests
(Tests/DeliveryTests/SigV4SignerTests.swift) check the project's signer against the
output, Tests/DeliveryTests/Fixtures/sigv4/botocore-vectors.json:

    $NS_VENV/bin/python scripts/sigv4_reference.py > Tests/DeliveryTests/Fixtures/sigv4/botocore-vectors.json
"""

import datetime
import json
import sys
from unittest import mock

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
DATE = datetime.datetime(2015, 8, 30, 12, 36, 0, tzinfo=datetime.timezone.utc)
REGION = "us-east-1"
SERVICE = "service"
HOST = "example.amazonaws.com"
TOKEN = "FQoGZXIvYXdzEXAMPLEsessiontoken/with+slash=="

# name, method, path, query, extra headers, body, session token, region, service
CASES = [
    ("get-vanilla", "GET", "/", "", [], "", None, REGION, SERVICE),
    ("get-query", "GET", "/", "Param1=value1", [], "", None, REGION, SERVICE),
    ("get-query-order", "GET", "/", "Param2=value2&Param1=value1&Param-3=x", [], "", None, REGION, SERVICE),
    ("get-query-unreserved", "GET", "/", "a-._~Z=b-._~9", [], "", None, REGION, SERVICE),
    ("get-query-encoded", "GET", "/", "%E1%88%B4=Value1&Param=Value2", [], "", None, REGION, SERVICE),
    ("get-query-reserved", "GET", "/", "key=a%2Fb%20c%2Bd%3De", [], "", None, REGION, SERVICE),
    ("get-path-utf8", "GET", "/\u1234/x", "", [], "", None, REGION, SERVICE),
    ("get-path-special", "GET", "/example/$delete", "", [], "", None, REGION, SERVICE),
    ("get-path-relative", "GET", "/example1/example2/../..", "", [], "", None, REGION, SERVICE),
    ("get-path-dot", "GET", "/./example", "", [], "", None, REGION, SERVICE),
    ("get-path-slashes", "GET", "//example//", "", [], "", None, REGION, SERVICE),
    ("get-header-trim", "GET", "/", "", [("My-Header1", "  value1  "), ("My-Header2", '"a   b   c"')], "", None,
     REGION, SERVICE),
    ("get-header-case", "GET", "/", "", [("MY-HEADER", "Mixed Case Value")], "", None, REGION, SERVICE),
    ("get-session-token", "GET", "/", "", [], "", TOKEN, REGION, SERVICE),
    ("post-vanilla", "POST", "/", "", [], "", None, REGION, SERVICE),
    ("post-form-urlencoded", "POST", "/", "", [("Content-Type", "application/x-www-form-urlencoded")],
     "Param1=value1", None, REGION, SERVICE),
    ("post-form-urlencoded-charset", "POST", "/", "", [
        ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")], "Action=Publish&Message=h%C3%A9+llo",
     None, REGION, SERVICE),
    ("post-json-session-token", "POST", "/v2/email/outbound-emails", "", [("Content-Type", "application/json")],
     '{"FromEmailAddress":"sender@example.com"}', TOKEN, "eu-west-1", "ses"),
    ("post-sns-publish", "POST", "/", "", [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")],
     "Action=Publish&Version=2010-03-31&PhoneNumber=%2B15555550100&Message=Hi", None, "us-west-2", "sns"),
]


def vector(name, method, path, query, extra, body, token, region, service):
    url = "https://" + HOST + path + ("?" + query if query else "")
    headers = [("Host", HOST)] + extra
    request = AWSRequest(method=method, url=url, data=body.encode("utf-8"), headers=dict(headers))
    auth = botocore.auth.SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY, token), service, region)
    # The texts before signing (add_auth adds the Authorization header, which would
    # otherwise be in them), then the header itself at the same time.
    request.context["timestamp"] = DATE.strftime(botocore.auth.SIGV4_TIMESTAMP)
    auth._modify_request_before_signing(request)
    canonical = auth.canonical_request(request)
    string_to_sign = auth.string_to_sign(request, canonical)
    with mock.patch("botocore.auth.get_current_datetime", return_value=DATE):
        auth.add_auth(request)
    return {
        "name": name,
        "method": method,
        "path": path,
        "query": query,
        "headers": [[n, v] for n, v in headers],
        "body": body,
        "sessionToken": token,
        "region": region,
        "service": service,
        "canonicalRequest": canonical,
        "stringToSign": string_to_sign,
        "authorization": request.headers["Authorization"],
    }


def main():
    document = {
        "generator": "scripts/sigv4_reference.py with botocore " + botocore.__version__,
        "accessKeyID": ACCESS_KEY,
        "secretAccessKey": SECRET_KEY,
        "date": "20150830T123600Z",
        "vectors": [vector(*case) for case in CASES],
    }
    json.dump(document, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
