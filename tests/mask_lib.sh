# SPDX-License-Identifier: Apache-2.0
# tests/mask_lib.sh -- column masking checks shared by tests/integration/
# mask.sh and the SQL plugins' mask tests, sourced after tests/lib.sh.
#
# Every script loads the same five rows into a table `people`:
#     id  email              phone            born        seen                    card
#     1   alice@example.com  +1 555-123-4567  1990-06-15  2024-05-17 10:42:07.25  4111111111111111
#     2   NULL ...                                                                  NULL
#     3   bob@example.org    12               1985-12-31  2023-01-02 03:04:05     42
# and masks it with $MASK_RULE (email hash, phone last4, born truncate:year,
# seen truncate:hour, card redact).
#
#   mask_keys              DSRC_KEY (a new Fernet key, exported), MK1 and MK2
#                          (two mask keys) and TOK1 and TOK2 (them encrypted:
#                          fernet:...) from $DSRC
#   mask_hmac KEY VALUE    the hex HMAC-SHA-256, computed by Python
#   mask_key_id KEY        the id a manifest records for KEY
#   mask_check_csv FILE KEY    FILE is the masked CSV of the rows, byte for
#                          byte, the hashes under KEY
#   mask_check_jsonl FILE KEY  the same for JSON Lines
#   mask_check_manifest FILE KEY  FILE's mask records the five columns, their
#                          modes and KEY's id
#   mask_no_clear FILE...  no masked value appears in clear in FILE...
MASK_RULE='mask = { email = "hash"; phone = "last4"; born = "truncate:year"; seen = "truncate:hour"; card = "redact"; };'
MASK_OPTION='email=hash,phone=last4,born=truncate:year,seen=truncate:hour,card=redact'
MASK_CLEAR='alice@example.com bob@example.org 555-123 1990-06-15 1985-12-31 10:42:07 03:04:05 4111111111111111'

mask_keys() {
    DSRC_KEY=$("$DSRC" secret genkey) || { echo "dsrc secret genkey failed"; exit 99; }
    export DSRC_KEY
    MK1="mask-key-one-0123456789abcdef-XY"
    MK2="mask-key-two-fedcba9876543210-ZW"
    TOK1=$(printf %s "$MK1" | "$DSRC" secret encrypt) || exit 99
    TOK2=$(printf %s "$MK2" | "$DSRC" secret encrypt) || exit 99
}
mask_hmac() {
    /usr/bin/python3 -c 'import hmac,hashlib,sys; print(hmac.new(sys.argv[1].encode(), sys.argv[2].encode(), hashlib.sha256).hexdigest())' "$1" "$2"
}
mask_key_id() { mask_hmac "$1" "dsrc mask key id" | cut -c1-16; }
mask_check_csv() {
    if /usr/bin/python3 - "$1" "$2" <<'EOF'
import hashlib, hmac, sys
k = sys.argv[2].encode()
h = lambda v: hmac.new(k, v.encode(), hashlib.sha256).hexdigest()
want = ("id,email,phone,born,seen,card\r\n"
        "1,%s,4567,1990-01-01,2024-05-17T10:00:00,\r\n"
        "2,,,,,\r\n"
        "3,%s,\"\",1985-01-01,2023-01-02T03:00:00,\r\n") % (h("alice@example.com"), h("bob@example.org"))
got = open(sys.argv[1], newline="").read()
if got != want:
    print("got:  %r\nwant: %r" % (got, want))
    sys.exit(1)
EOF
    then ok; else bad "$1 is not the masked CSV"; fi
}
mask_check_jsonl() {
    if /usr/bin/python3 - "$1" "$2" <<'EOF'
import hashlib, hmac, json, sys
k = sys.argv[2].encode()
h = lambda v: hmac.new(k, v.encode(), hashlib.sha256).hexdigest()
want = [{"id": 1, "email": h("alice@example.com"), "phone": "4567", "born": "1990-01-01",
         "seen": "2024-05-17T10:00:00", "card": None},
        {"id": 2, "email": None, "phone": None, "born": None, "seen": None, "card": None},
        {"id": 3, "email": h("bob@example.org"), "phone": "", "born": "1985-01-01",
         "seen": "2023-01-02T03:00:00", "card": None}]
got = [json.loads(l) for l in open(sys.argv[1])]
if got != want:
    print("got:  %r\nwant: %r" % (got, want))
    sys.exit(1)
EOF
    then ok; else bad "$1 is not the masked JSON Lines"; fi
}
mask_check_manifest() {
    jcheck "$1" "d['mask'] == {'columns': {'email': 'hash', 'phone': 'last4', 'born': 'truncate:year', 'seen': 'truncate:hour', 'card': 'redact'}, 'algorithm': 'hmac-sha256', 'key_id': '$(mask_key_id "$2")'} and [c['type'] for c in d['schema'] if c['name'] in ('email', 'phone')] == ['text', 'text']"
}
mask_no_clear() {
    for f in "$@"; do
        for v in $MASK_CLEAR; do hasnt "$f" "$v"; done
        hasnt "$f" "$MK1"
        hasnt "$f" "$MK2"
    done
}
