# etcd-io/raft with its default logger (log.Printf with the "raft" prefix, whole seconds):
#   raft2026/11/23 10:36:11 INFO: 1 became leader at term 1
name        etcd
description etcd-io/raft default logger (raftYYYY/MM/DD HH:MM:SS LEVEL: ID message)
detect      ^raft\d{4}/\d\d/\d\d \d\d:\d\d:\d\d(?:\.\d+)? (?:DEBUG|INFO|WARN|WARNING|ERROR|PANIC|FATAL): 
line        ^raft(?P<time>\d{4}/\d\d/\d\d \d\d:\d\d:\d\d(?:\.\d+)?) (?P<level>[A-Z]+): (?:(?P<node>[0-9a-f]+) )?(?P<msg>.*)$
time        2006/01/02 15:04:05

# "newRaft ID [...]" is the last line newRaft logs for a new instance of node ID. etcd's table
# tests create many instances with the same ids, up front, and run them one after another; the
# log never says which instance printed a line. raftviz analyze counts the instances, and a
# violation involving a node with several is a warning (the attribution is uncertain), not a failure.
fact conf : ^switched to configuration (?P<conf>.*)
fact start fresh=true : ^newRaft (?P<node>[0-9a-f]+) \[peers: \[(?P<peers>[^\]]*)\], term: (?P<init_term>\d+), commit: (?P<commit>\d+), applied: (?P<applied>\d+), lastindex: (?P<last_index>\d+), lastterm: (?P<last_term>\d+)\]
fact state state=leader       : ^became leader at term (?P<term>\d+)
fact state state=candidate    : ^became candidate at term (?P<term>\d+)
fact state state=precandidate : ^became pre-candidate at term (?P<term>\d+)
fact state state=follower     : ^became follower at term (?P<term>\d+)
fact vote granted=true  : cast (?P<type>MsgVote|MsgPreVote) for (?P<candidate>[0-9a-f]+) .*at term (?P<term>\d+)
fact vote granted=false : rejected (?P<type>MsgVote|MsgPreVote) from (?P<candidate>[0-9a-f]+) .*at term (?P<term>\d+)
fact recv type=RequestVoteReply granted=false : received (?P<msgtype>MsgVoteResp|MsgPreVoteResp) rejection from (?P<from>[0-9a-f]+) at term (?P<term>\d+)
fact recv type=RequestVoteReply granted=true  : received (?P<msgtype>MsgVoteResp|MsgPreVoteResp) from (?P<from>[0-9a-f]+) at term (?P<term>\d+)
fact send type=RequestVote : sent (?P<msgtype>MsgVote|MsgPreVote) request to (?P<to>[0-9a-f]+) at term (?P<term>\d+)
fact leader : ^\[term: (?P<term>\d+)\] received a \w+ message with higher term from (?P<leader>[0-9a-f]+)
fact commit : ^\[commit: (?P<prev>\d+)\].*\bcommitted to (?P<commit>\d+)
fact snapshot action=installed : \[commit: \d+\] restored snapshot \[index: (?P<index>\d+), term: (?P<eterm>\d+)\]
# The node's own term, where a line states it and states nothing else we read.
fact -      : ^\[term: (?P<term>\d+)\]
fact -      : ^is starting a new election at term (?P<term>\d+)
