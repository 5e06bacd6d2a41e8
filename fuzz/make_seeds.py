#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets into fuzz/corpus/<target>/.

The seeds are small and readable; the fuzzers grow their own corpora from
them (scripts/check-robustness.sh keeps those under build/fuzz/, out of the
repository). Run again after changing the known values in
fuzz_access_info.cpp; file names are stable, so only changed seeds differ.
"""
import pathlib

HERE = pathlib.Path(__file__).resolve().parent

LIVE = "cat_fuzzLiveTokenAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
EXPIRED = "cat_fuzzExpiredTokenBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
PUBLIC = "6f1c7a52-3b0e-4d8a-9c41-2e7f5b8d9a10"
PRIVATE = "0a2b4c6d-8e0f-4a1b-8c3d-5e7f9a1b3c5d"
CCE = "c0ffee00-1234-4abc-9def-0123456789ab"
OTHER = "deadbeef-0000-4000-8000-000000000001"

CLUSTER_IDS = [
    PUBLIC, PRIVATE, "00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff",
    PUBLIC.upper(), "{" + PUBLIC + "}", "urn:uuid:" + PUBLIC, PUBLIC.replace("-", ""), PUBLIC[:-1],
    PUBLIC + "0", " " + PUBLIC[1:], PUBLIC[:8] + "\x00" + PUBLIC[9:], PUBLIC[:9] + "-" + PUBLIC[10:],
    PUBLIC[:7] + "g" + PUBLIC[8:], PUBLIC[:35] + "\u0661", "", "-" * 36,
]

ADDRESSES = [
    "10.20.30.40", "192.168.0.1", "1.2.3.4", "255.255.255.255", "0.0.0.0", "127.0.0.1", "169.254.1.1",
    "224.0.0.1", "01.2.3.4", "1.2.3", "1.2.3.4.5", "1.2.3.4:80", "10.0.0.0/8", "[2001:db8::1]",
    "2001:db8::1", "2001:DB8:0:0:0:0:0:1", "2001:db8:0:0:1:0:0:1", "fe80::1%eth0", "fe80::1", "ff02::1",
    "::", "::1", "::ffff:10.0.0.1", "::ffff:127.0.0.1", "::10.0.0.1", "64:ff9b::192.0.2.33",
    "2001:0db8:0000:0000:0000:ff00:0042:8329", "1:2:3:4:5:6:7:8", "1::2:3:4:5:6:7", "1:2:3:4:5:6:7::",
    "1.2.3.4\n  - --evil", "10.0.0.1 ", "10.0.0.1\x00", "localhost", "١.٢.٣.٤",
]

REGIONS = ["eu-de", "cn-north-4", "EU-DE", "eu--de", "-eu", "eu-", "a" * 63, "a" * 64, "eu-de\nkind: Secret",
           "{a: b}", "&anchor", "*alias", "!!python/object", "eu_de", "eu de", "'; DROP TABLE regions; --"]

TOKENS = [LIVE, EXPIRED, "", "cat_", "x" * 257, "' OR 1=1 --", LIVE + "\x00", LIVE.upper(), " " + LIVE]


def write(target, name, data):
    directory = HERE / "corpus" / target
    directory.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    (directory / name).write_bytes(data)


def escape(field):
    return field.replace("\\", "\\\\")


def request(flags, cluster="", token="", vpcendpoint="", region=""):
    """fuzz_access_info's input: a flags byte, then fields ended by '\\' + ' '."""
    return bytes([flags]) + "\\ ".join(escape(f) for f in (cluster, token, vpcendpoint, region)).encode(
        "utf-8", "surrogatepass")


def signed(flags, method, path, query, headers, authorization):
    """fuzz_request_signature's input: a flags byte, then five fields."""
    return bytes([flags]) + "\\ ".join(escape(f) for f in (method, path, query, "\n".join(headers),
                                                            authorization)).encode("utf-8", "surrogatepass")


SIGNED_PATH = "/v1/clusters/" + PUBLIC + "/accessinfo"
DATE = "X-Sdk-Date:20200608T023900Z"
HOST = "Host:ucs.example.com"
SIGNATURE = "0" * 64


def main():
    for i, text in enumerate(CLUSTER_IDS):
        write("cluster_id", f"id-{i:02d}", text)
    for i, text in enumerate(ADDRESSES):
        write("network_params", f"ip-{i:02d}", text)
    for i, text in enumerate(REGIONS):
        write("network_params", f"region-{i:02d}", text)
    for i, text in enumerate(["proxy.example.com", "swr.example.com/ns/agent:1.0", "alice@example.com",
                              "prod-cluster", "1.2.3", "a" * 254]):
        write("network_params", f"name-{i:02d}", text)

    token_given, vpc_given, region_given, live = 1, 2, 4, 64
    seeds = {
        # Full paths with the known values in the fields themselves.
        "public-ok": request(token_given, PUBLIC, LIVE),
        "private-ok": request(token_given | vpc_given | region_given, PRIVATE, LIVE, "10.20.30.40", "eu-de"),
        "private-v6": request(token_given | vpc_given | region_given, PRIVATE, LIVE, "2001:db8::1", "cn-north-4"),
        "private-mapped": request(token_given | vpc_given | region_given, PRIVATE, LIVE, "::ffff:10.0.0.1", "eu-de"),
        "private-no-region": request(token_given | vpc_given, PRIVATE, LIVE, "10.20.30.40"),
        "private-no-vpc": request(token_given | region_given, PRIVATE, LIVE, "", "eu-de"),
        "private-yaml-region": request(token_given | vpc_given | region_given, PRIVATE, LIVE, "10.0.0.1",
                                       "eu-de\nkind: Secret"),
        "private-yaml-ip": request(token_given | vpc_given | region_given, PRIVATE, LIVE, "1.2.3.4\n  - --evil",
                                   "eu-de"),
        "public-with-vpc": request(token_given | vpc_given, PUBLIC, LIVE, "10.0.0.1"),
        "cce": request(token_given, CCE, LIVE),
        "not-granted": request(token_given, OTHER, LIVE),
        "expired": request(token_given, PUBLIC, EXPIRED),
        "no-token": request(0, PUBLIC),
        "sql-id": request(token_given, "' OR 1=1 --", LIVE),
        "sql-token": request(token_given, PUBLIC, "x'; DROP TABLE clusters; --"),
        # The same through the flags' known values.
        "flags-public": request(token_given | live | (1 << 3)),
        "flags-private": request(token_given | live | vpc_given | region_given | (2 << 3), "", "", "10.1.2.3",
                                 "eu-de"),
        "flags-cce": request(token_given | live | (3 << 3)),
        "flags-other": request(token_given | live | (4 << 3)),
        "flags-suffix": request(token_given | live | (5 << 3), "x"),
        "flags-expired": request(token_given | 128 | (1 << 3)),
    }
    for name, data in seeds.items():
        write("access_info", name, data)
    for i, token in enumerate(TOKENS):
        write("access_info", f"token-{i:02d}", request(token_given, PUBLIC, token))

    sign, body = 1, 2
    signed_seeds = {
        # Signed by the harness with the live key's SK.
        "signed-get": signed(sign, "GET", SIGNED_PATH, "", [HOST, DATE], "host;x-sdk-date"),
        "signed-query": signed(sign, "GET", SIGNED_PATH, "vpcendpoint=10.0.0.1&region=eu-de&a=&a=b", [HOST, DATE],
                               "host;x-sdk-date"),
        "signed-body": signed(sign | body, "POST", "/v1/clusters", "", [HOST, DATE, "Content-Type:application/json"],
                              "content-type;host;x-sdk-date"),
        "signed-unsigned-payload": signed(sign | body, "POST", "/v1/clusters", "",
                                          [HOST, DATE, "X-Sdk-Content-Sha256:UNSIGNED-PAYLOAD"],
                                          "host;x-sdk-content-sha256;x-sdk-date"),
        "signed-encoded-path": signed(sign, "GET", "/v1/a%20b%2Fc%25d~%C3%A9/%E2%82", "k=%E4%B8%80%20(%26)",
                                      [HOST, DATE, "X-Custom:  inner  spaces "], "host;x-custom;x-sdk-date"),
        "signed-twice": signed(sign, "GET", SIGNED_PATH, "", [HOST, DATE], "host;host;x-sdk-date"),
        "signed-stale": signed(sign, "GET", SIGNED_PATH, "", [HOST, "X-Sdk-Date:20200608T025401Z"], "host;x-sdk-date"),
        "signed-no-date": signed(sign, "GET", SIGNED_PATH, "", [HOST, DATE], "host"),
        # Authorization values as given, "<AK>" the live key's AK.
        "header-ok-form": signed(0, "GET", SIGNED_PATH, "", [HOST, DATE],
                                 "SDK-HMAC-SHA256 Access=<AK>, SignedHeaders=host;x-sdk-date, Signature=" + SIGNATURE),
        "header-unknown-ak": signed(0, "GET", SIGNED_PATH, "", [HOST, DATE],
                                    "SDK-HMAC-SHA256 Access=AAAAAAAAAAAAAAAAAAAA, SignedHeaders=host;x-sdk-date, "
                                    "Signature=" + SIGNATURE),
        "header-sm3": signed(0, "GET", SIGNED_PATH, "", [HOST, DATE],
                             "SDK-HMAC-SM3 Access=<AK>, SignedHeaders=host;x-sdk-date, Signature=" + SIGNATURE),
        "header-duplicate": signed(0, "GET", SIGNED_PATH, "", [HOST, DATE],
                                   "SDK-HMAC-SHA256 Access=<AK>, Access=<AK>, SignedHeaders=x-sdk-date, Signature="
                                   + SIGNATURE),
        "header-empty": signed(0, "GET", SIGNED_PATH, "", [HOST, DATE], ""),
        "header-two": signed(0, "GET", SIGNED_PATH, "", [HOST, DATE, "authorization:x"],
                             "SDK-HMAC-SHA256 Access=<AK>, SignedHeaders=host;x-sdk-date, Signature=" + SIGNATURE),
    }
    for name, data in signed_seeds.items():
        write("request_signature", name, data)


if __name__ == "__main__":
    main()
