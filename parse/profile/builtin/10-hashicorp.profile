# hashicorp/raft: hclog text lines, as its own `go test -v` prints them:
#   2026-11-23T10:35:24.098Z [INFO]  server-0a0d4c68-...: entering candidate state: node="Node at ..." term=2
name        hashicorp
description hashicorp/raft (hclog text: TIME [LEVEL]  server-<id>: message: key=value ...)
detect      ^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+(?:Z|[+-]\d\d:?\d\d) \[(?:TRACE|DEBUG|INFO|WARN|ERROR)\]\s
line        ^(?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+(?:Z|[+-]\d\d:?\d\d)) \[(?P<level>[A-Z]+)\]\s+(?:(?P<node>[^\s:]+): )?(?P<msg>.*)$
time        2006-01-02T15:04:05.999999999Z0700
# An app's own servers name hclog's logger ("raft", "agent.server.raft", "nomad.raft"), not the
# server: the node is the file's (one log per process), named by its words below.
logger      ^(?:[\w-]+\.)*raft(?:-net)?$
# The wording inside another envelope: an app's hclog written as JSON (@message) or through
# log/slog (msg="entering leader state" logger=raft leader="Node at ..."), the args as keys.
wording     ^(?:entering (?:follower|candidate|leader) state|election won|(?:pre-)?vote (?:granted|denied|received)|(?:pre-)?voting for self|initial configuration|pre-vote successful|heartbeat timeout reached|snapshot complete up to|restored from snapshot)\b
# A server's own address and id, and its peers' (initial configuration: ID:node1 Address:...),
# in hclog's text lines and in records (logfmt, JSON).
identity    \[INFO\]  (?:\S+: )?entering (?:follower|candidate|leader) state: \w+="Node at (?P<addr>[^ "]+) \[
identity    \] +(?:\S+: )?(?:pre-)?voting for self: term=\d+ id=(?P<id>\S+)
identity    \bmsg="entering (?:follower|candidate|leader) state" .*\b(?:follower|candidate|leader|node)="Node at (?P<addr>[^ "]+) \[
identity    \bmsg="(?:pre-)?voting for self" .*\bid=(?P<id>\S+)
book        ID:(?P<id>[^ }]+) Address:(?P<addr>[^ }]+)
# Test clusters name servers "server-<uuid>" and address them as "<uuid>": one alias for both.
alias       ^(?:server-)?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$ as s
# The test cluster's own logger, and t.Log lines of the tests ("raft_test.go:375: [INFO] ...").
harness     node ^cluster$
harness     ^\s+\w+_test\.go:\d+: \[[A-Z]+\] (?:Disconnecting|Reconnecting|Partitioning|Crashing|Restarting|Shutting)

fact state state=candidate : ^entering candidate state: .*\bterm=(?P<term>\d+)
fact state state=leader    : ^entering leader state
fact state state=follower  : ^entering follower state
fact -                     : ^election won: term=(?P<term>\d+) tally=(?P<votes>\d+)
# "vote granted: from=X term=T" is logged by the candidate; T is the voter's term, not its own.
fact recv type=RequestVoteReply granted=true : ^vote granted: from=(?P<from>\S+) term=(?P<mterm>\d+)
fact recv type=PreVoteReply granted=true     : ^pre-vote granted: from=(?P<from>\S+) term=(?P<mterm>\d+)
fact recv type=PreVoteReply granted=false    : ^pre-vote denied: from=(?P<from>\S+) term=(?P<mterm>\d+)
fact recv type=PreVoteReply                  : ^pre-vote received: from=(?P<from>\S+) term=(?P<mterm>\d+)
fact disconnect : ^disconnecting: address=(?P<node>\S+)
fact disconnect : Disconnecting Node at (?P<node>[0-9a-f-]{36})
fact reconnect  : Reconnecting Node at (?P<node>[0-9a-f-]{36})
fact partition  : ^partitioning
fact start      : ^initial configuration: index=(?P<index>\d+)
fact snapshot action=taken     : ^snapshot complete up to: index=(?P<index>\d+)
fact snapshot action=installed : ^restored from snapshot: id=\S+ last-index=(?P<index>\d+) last-term=(?P<eterm>\d+)
fact stop       : ^shutting down
# The candidate's own term, where an election line states it ("voting for self: term=2").
fact -          : ^voting for self: term=(?P<term>\d+)
fact -          : ^pre-vote successful, starting election: term=(?P<term>\d+)
