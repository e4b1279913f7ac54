# NATS server (JetStream's own Raft, "NRG"): every server runs the _meta_ group and one group per
# replicated stream or consumer, and names both in its Raft lines (debug logging, -D):
#   [6779] 2026/12/06 20:53:18.034307 [DBG] RAFT [k2My6qdB - S-R3F-9ddT7DPD] Switching to candidate
# The peer id (k2My6qdB) is the server's "Node:" in its banner; the file is the server.
name        nats
description NATS server with JetStream ([PID] DATE TIME [LVL] RAFT [peer - group] message)
detect      ^\[\d+\] \d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d+ \[(?:TRC|DBG|INF|WRN|ERR|FTL|SYS)\] 
line        ^\[\d+\] (?P<time>\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d+) \[(?P<level>[A-Z]{3})\] (?:RAFT \[(?P<node>[^ \]]+) - (?P<group>[^\]]+)\] )?(?P<msg>.*)$
time        2006/01/02 15:04:05.000000
identity    \[INF\]   Node: +(?P<id>\S+)$
node-fields candidate peer
fact state state=candidate : ^Switching to candidate
fact state state=leader    : ^Switching to leader
fact state state=follower  : ^Switching to follower
# The candidate's own term is the one it asks votes for.
fact send type=RequestVote : ^Sending out voteRequest \{term:(?P<term>\d+) lastTerm:(?P<last_term>\d+) lastIndex:(?P<last_index>\d+) candidate:\S+
fact recv type=RequestVote : ^Received a voteRequest &\{term:(?P<mterm>\d+) lastTerm:(?P<last_term>\d+) lastIndex:(?P<last_index>\d+) candidate:(?P<from>[^ }]+)
# A vote response carries the voter's term after it voted: its own.
fact vote  : ^Sending a voteResponse &\{term:(?P<term>\d+) peer:\S+ granted:(?P<granted>true|false)
fact recv type=RequestVoteReply : ^Received a voteResponse &\{term:(?P<mterm>\d+) peer:(?P<from>\S+) granted:(?P<granted>true|false)
fact leader : ^AppendEntry updating leader to "(?P<leader>[^"]+)"
fact start  : ^Started \(cluster size \d+, quorum \d+\)
fact stop   : ^Shutdown$
fact transfer : ^Selected "(?P<to>[^"]+)" for new leader
