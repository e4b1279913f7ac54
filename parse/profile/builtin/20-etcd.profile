# etcd-io/raft with its default logger (log.Printf with the "raft" prefix, whole seconds):
#   raft2026/11/23 10:36:11 INFO: 1 became leader at term 1
name        etcd
description etcd-io/raft default logger (raftYYYY/MM/DD HH:MM:SS LEVEL: ID message)
detect      ^raft\d{4}/\d\d/\d\d \d\d:\d\d:\d\d(?:\.\d+)? (?:DEBUG|INFO|WARN|WARNING|ERROR|PANIC|FATAL): 
line        ^raft(?P<time>\d{4}/\d\d/\d\d \d\d:\d\d:\d\d(?:\.\d+)?) (?P<level>[A-Z]+): (?:(?P<node>[0-9a-f]+) )?(?P<msg>.*)$
time        2006/01/02 15:04:05
# The wording inside any envelope (etcd's zap records carry it in "msg"): the member id first.
# An id has a digit, so that words such as "added" are not taken for one.
msg-node    ^(?P<node>[0-9a-f]*[0-9][0-9a-f]*)[ ]
wording     ^(?:[0-9a-f]*[0-9][0-9a-f]* (?:became (?:leader|follower|candidate|pre-candidate) at term|switched to configuration|is starting a new election|\[term: \d+\]|\[logterm: \d+, index: \d+\]|received Msg|has received \d+ Msg)|newRaft [0-9a-f]+ \[|raft\.node: )
# An etcd server's own member id, in its capnslog or zap lines: the id its peers name it by.
identity    etcdserver: (?:starting|restarting) member (?P<id>[0-9a-f]+) in cluster
identity    "msg":"(?:starting|restarting) local member".*"local-member-id":"(?P<id>[0-9a-f]+)"

# newRaft logs "switched to configuration", "became follower at term T", then "newRaft ID [peers:
# ..., term: T, ..., lastindex: L]". Term 0 is the term of a node that has stored nothing: its
# "became follower at term 0" is where a fresh instance, sharing nothing with an earlier one of
# the id, begins (etcd's table tests build many clusters with the same ids in one test; raftviz
# analyze counts the instances, and a violation involving a node with several is a warning, not
# a failure). A newRaft with a term or entries is the same server restarted from its storage.
fact conf : ^switched to configuration (?P<conf>.*)
fact start fresh=true state=follower : ^became follower at term (?P<term>0)$
fact conf : ^newRaft (?P<node>[0-9a-f]+) \[peers: \[(?P<peers>[^\]]*)\], term: (?P<init_term>0), commit: (?P<commit>0), applied: (?P<applied>\d+), lastindex: (?P<last_index>0), lastterm: (?P<last_term>0)\]
fact start : ^newRaft (?P<node>[0-9a-f]+) \[peers: \[(?P<peers>[^\]]*)\], term: (?P<init_term>\d+), commit: (?P<commit>\d+), applied: (?P<applied>\d+), lastindex: (?P<last_index>\d+), lastterm: (?P<last_term>\d+)\]
# etcd's node loop saying who leads: about the node it names, not the harness.
fact leader : ^raft\.node: (?P<node>[0-9a-f]+) elected leader (?P<leader>[0-9a-f]+) at term (?P<term>\d+)
fact leader : ^raft\.node: (?P<node>[0-9a-f]+) (?:lost leader|changed leader from) (?P<prev_leader>[0-9a-f]+)
fact state state=leader       : ^became leader at term (?P<term>\d+)
fact state state=candidate    : ^became candidate at term (?P<term>\d+)
fact state state=precandidate : ^became pre-candidate at term (?P<term>\d+)
fact state state=follower     : ^became follower at term (?P<term>\d+)
# etcd-io/raft states both logs' last entries in a vote, the voter's then the candidate's, and
# whom the voter had voted for in the term (0: nobody).
fact vote granted=true  : \[logterm: (?P<last_term>\d+), index: (?P<last_index>\d+), vote: (?P<voted_for>[0-9a-f]+)\] cast (?P<type>MsgVote) for (?P<candidate>[0-9a-f]+) \[logterm: (?P<candidate_last_term>\d+), index: (?P<candidate_last_index>\d+)\] at term (?P<term>\d+)
fact vote granted=true  : cast (?P<type>MsgVote) for (?P<candidate>[0-9a-f]+) .*at term (?P<term>\d+)
fact vote granted=true prevote=true  : cast (?P<type>MsgPreVote) for (?P<candidate>[0-9a-f]+) .*at term (?P<term>\d+)
fact vote granted=false : rejected (?P<type>MsgVote) from (?P<candidate>[0-9a-f]+) .*at term (?P<term>\d+)
fact vote granted=false prevote=true : rejected (?P<type>MsgPreVote) from (?P<candidate>[0-9a-f]+) .*at term (?P<term>\d+)
fact recv type=RequestVoteReply granted=false : received (?P<msgtype>MsgVoteResp|MsgPreVoteResp) rejection from (?P<from>[0-9a-f]+) at term (?P<term>\d+)
fact recv type=RequestVoteReply granted=true  : received (?P<msgtype>MsgVoteResp|MsgPreVoteResp) from (?P<from>[0-9a-f]+) at term (?P<term>\d+)
fact send type=RequestVote : sent (?P<msgtype>MsgVote|MsgPreVote) request to (?P<to>[0-9a-f]+) at term (?P<term>\d+)
# A message of a higher term: a vote request is from a candidate (a node adopts a MsgVote's term,
# not a MsgPreVote's); any other is from the leader of that term.
fact recv type=RequestVote : ^\[term: (?P<term>\d+)\] received a (?P<msgtype>MsgVote) message with higher term from (?P<from>[0-9a-f]+) \[term: (?P<mterm>\d+)\]
fact recv type=RequestVote : ^\[term: (?P<term>\d+)\] received a (?P<msgtype>MsgPreVote) message with higher term from (?P<from>[0-9a-f]+)
fact leader : ^\[term: (?P<term>\d+)\] received a \w+ message with higher term from (?P<leader>[0-9a-f]+)
fact commit : ^\[commit: (?P<prev>\d+)\].*\bcommitted to (?P<commit>\d+)
fact snapshot action=installed : \[commit: \d+\] restored snapshot \[index: (?P<index>\d+), term: (?P<eterm>\d+)\]
# The node's own term, where a line states it and states nothing else we read.
fact -      : ^\[term: (?P<term>\d+)\]
fact -      : ^is starting a new election at term (?P<term>\d+)
