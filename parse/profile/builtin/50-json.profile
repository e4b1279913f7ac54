# One JSON record per line from a structured logger (zap, zerolog, logrus, log/slog) that names the
# node in a key:  {"level":"info","ts":1732357211.1,"raft_id":"2","msg":"became leader","term":3}
# Other keys become fields; a "term" key is taken as the node's term.
name        json
description JSON records (zap, zerolog, logrus, log/slog) with a node key
line        builtin:json
json-node   node raft_id nid server server_id node_id id peer
json-msg    msg message @message
json-time   time ts timestamp @timestamp t
json-level  level lvl severity @level
fact crash      : (?i)\bcrash
fact restart    : (?i)\brestart
fact reconnect  : (?i)\breconnect
fact disconnect : (?i)\bdisconnect
fact state state=leader    : (?i)\b(?:becom\w*|became|convert\w*\s+to|is\s+now|transition\w*\s+to|elected|won\s+(?:the\s+)?election\W+becom\w*)\W+(?:a\s+|the\s+|new\s+)*leader
fact state state=candidate : (?i)\b(?:becom\w*|became|convert\w*\s+to|is\s+now|transition\w*\s+to)\W+(?:a\s+|the\s+)*candidate
fact state state=follower  : (?i)\b(?:becom\w*|became|convert\w*\s+to|is\s+now|transition\w*\s+to|step\w*\s+down\s+to)\W+(?:a\s+|the\s+)*follower
fact -                     : (?i)\bterm[:= ]\s*(?P<term>\d+)
