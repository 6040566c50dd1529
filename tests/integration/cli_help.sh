#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Every command's --help matches dsrc(1): each option a command's --help
# lists is in the command's section of the manual page, and each option the
# section describes (a .TP entry) is in --help.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
lib_tmpdir dsrc-help
if python3 - "$top_builddir/dsrc" "$top_srcdir/docs/dsrc.1" >"$tmp/out" 2>&1 <<'EOP'
import re, subprocess, sys
dsrc, man = sys.argv[1], sys.argv[2]
text = open(man).read()
# sections: .SS lines under COMMANDS
secs = {}
cur = None
in_cmds = False
for line in text.split('\n'):
    if line.startswith('.SH'):
        in_cmds = line.strip() == '.SH COMMANDS'
        cur = None
        continue
    if in_cmds and line.startswith('.SS'):
        name = line.split()[1].replace('\\-', '-')
        cur = name
        secs.setdefault(cur, []).append(line)
        continue
    if cur:
        secs[cur].append(line)
def opts_of(lines):
    s = re.sub(r'\\f[BIRP]', ' ', '\n'.join(lines)).replace('\\-', '-')
    return set(re.findall(r'(?<![\w-])(--[a-z][a-z-]*)', s))
def tp_opts(lines):
    out = set()
    for i, l in enumerate(lines):
        if l.startswith('.TP') and i + 1 < len(lines):
            out |= set(re.findall(r'(?<![\w-])(--[a-z][a-z-]*)', lines[i + 1].replace('\\-', '-')))
    return out
helpout = subprocess.run([dsrc, '--help'], capture_output=True, text=True).stdout
cmds = re.findall(r'^  ([a-z][a-z-]+) ', helpout.split('Commands:')[1], re.M)
bad = 0
for c in cmds:
    h = subprocess.run([dsrc, c, '--help'], capture_output=True, text=True).stdout
    if c == 'secret':  # its subcommands have their own --help
        for sub in re.findall(r'^  ([a-z]+) ', h, re.M):
            h += subprocess.run([dsrc, c, sub, '--help'], capture_output=True, text=True).stdout
    hopts = set(re.findall(r'(?<![\w-])(--[a-z][a-z-]*)', '\n'.join(l for l in h.split('\n') if re.match(r'^\s+-', l) or l.startswith('usage:'))))
    hopts.discard('--help')
    if c not in secs:
        print(f'{c}: no .SS section in {man}'); bad += 1; continue
    mopts = opts_of(secs[c])
    for o in sorted(hopts - mopts):
        print(f'{c}: {o} in --help, not in dsrc(1)'); bad += 1
    for o in sorted(tp_opts(secs[c]) - hopts - {'--help'}):
        print(f'{c}: {o} in dsrc(1), not in --help'); bad += 1
sys.exit(1 if bad else 0)
EOP
then
    ok
else
    bad "dsrc --help and dsrc(1) differ"
    cat "$tmp/out"
fi
finish cli_help
