# etcd-io/raft TracingEvent NDJSON (built with -tags with_tla), bare or wrapped in a logger record:
#   {"name":"BecomeLeader","nid":"1","state":{"term":1,"vote":"1","commit":1},"role":"StateLeader",...}
# The reader turns each event into a message such as "BecomeLeader term=1 commit=1" or
# "SendAppendEntriesRequest MsgApp 1->2 term=1 ..."; the facts below read those.
name        etcd-trace
description etcd-io/raft TracingEvent NDJSON (-tags with_tla)
line        builtin:etcd-trace
fact start fresh=true       : ^InitState term=(?P<init_term>\d+)
fact state state=leader     : ^BecomeLeader term=(?P<term>\d+)
fact state state=candidate  : ^BecomeCandidate term=(?P<term>\d+)
fact state state=precandidate : ^BecomePreCandidate term=(?P<term>\d+)
fact state state=follower   : ^BecomeFollower term=(?P<term>\d+)
fact commit                 : ^Commit term=(?P<term>\d+) commit=(?P<commit>\d+)
# Messages, "SendAppendEntriesRequest MsgApp 1->2 ..." at the sender and "Receive... 1->2" at the
# receiver, for the arrow view (the term in these lines is the message's, not the node's).
fact send                   : ^Send\w+ (?P<msgtype>Msg\w+) \S+->(?P<to>\S+)
fact recv                   : ^Receive\w+ (?P<msgtype>Msg\w+) (?P<from>\S+)->\S+
