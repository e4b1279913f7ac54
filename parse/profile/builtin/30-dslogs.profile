# MIT 6.824/6.5840 student logs in the "Debugging by Pretty Printing" convention: tenths of a
# millisecond since the start, a four-letter topic, the server as S<n>:
#   008256 VOTE S0 Granting Vote to S1 at T1
# framed by the tester's "Test (2A): ..." and "  ... Passed --" lines when go test runs without -v.
name        dslogs
description MIT 6.824/6.5840 dslogs (TIME TOPIC S<n> message; TIME in units of 100us since start)
detect      ^\d{4,} [A-Z][A-Z0-9]{3} \S
line        ^(?P<time>\d{4,}) (?P<topic>[A-Z][A-Z0-9]{3}) (?:(?P<node>S\d+) )?(?P<msg>.*)$
time        offset 100us
harness     ^\d+ TEST 
test-start  ^Test \((?P<part>[^)]+)\): (?P<title>.*?)\s*\.\.\.$
test-pass   ^\s+\.\.\. Passed
failure     ^\s*config\.go:\d+: 
failure     (?i)apply error
failure     (?i)\bfailed to reach agreement

fact crash      : (?i)\bcrash\w*\s+(?:server\s+)?(?P<node>S\d+)
fact crash      : (?i)\bkill\w*\s+(?:server\s+)?(?P<node>S\d+)
fact restart    : (?i)\brestart\w*\s+(?:server\s+)?(?P<node>S\d+)
fact reconnect  : (?i)\breconnect(?:ing|ed)?\s+(?:server\s+)?(?P<node>S\d+)
fact disconnect : (?i)\bdisconnect(?:ing|ed)?\s+(?:server\s+)?(?P<node>S\d+)
fact partition  : (?i)\bpartition
fact state state=leader    : (?i)\b(?:becom\w*|became|convert\w*\s+to|is\s+now|transition\w*\s+to|elected|won\s+(?:the\s+)?election\W+becom\w*)\W+(?:a\s+|the\s+|new\s+)*leader(?:\s+(?:at\s+|in\s+|of\s+)?(?:term\s+|T)?(?P<term>\d+)\b)?
fact state state=candidate : (?i)\b(?:becom\w*|became|convert\w*\s+to|is\s+now|transition\w*\s+to)\W+(?:a\s+|the\s+)*candidate(?:\s+(?:at\s+|in\s+|of\s+)?(?:term\s+|T)?(?P<term>\d+)\b)?
fact state state=follower  : (?i)\b(?:becom\w*|became|convert\w*\s+to|is\s+now|transition\w*\s+to|step\w*\s+down\s+to)\W+(?:a\s+|the\s+)*follower(?:\s+(?:at\s+|in\s+|of\s+)?(?:term\s+|T)?(?P<term>\d+)\b)?
# A number after the role is the term it begins ("become Candidate 3").
# "Election timeout, starting election": a candidacy, in the term the next line states.
fact state state=candidate : (?i)\bstart\w*\s+(?:an?\s+|the\s+|new\s+)*election\b
fact vote granted=true     : (?i)\bgrant\w*\s+vote\s+to\s+(?P<candidate>S\d+)
fact vote granted=true     : (?i)\bgrant\w*\s+vote\s+(?:-?\d+\s+)?->\s*(?P<candidate>S\d+)
fact vote granted=false    : (?i)\b(?:refus|reject|deny|deni)\w*\s+vote\s+(?:to|for|from)\s+(?P<candidate>S\d+)
fact vote granted=false    : (?i)\b(?:refus|reject|deny|deni)\w*\s+vote\s+(?:-?\d+\s+)?->\s*(?P<candidate>S\d+)
# "S0 -> S1 Sending ...": the convention writes a message from one server to another with an
# arrow after the sender (for the arrow view).
fact send                  : ^->\s*(?P<to>S\d+)\b
fact commit                : (?i)\bcommit\s*index\s*(?:(?P<prev>\d+)\s*-+>\s*)?(?P<commit>\d+)
fact commit                : (?i)\bcommit\w*\s+(?:up\s+)?to\s+(?:index\s+)?(?P<commit>\d+)
# "apply 50 - 51" applies a range: the last applied is 51.
fact apply                 : (?i)\bappl(?:y|ying|ied)\s+(?:log\s+|index\s+|entry\s+|entries\s+)?(?:\d+\s*(?:-|to|\.\.)\s*)?(?P<index>\d+)(?:\s+term\s+(?P<eterm>\d+))?(?:\s+cmd\s+(?P<cmd>\S+))?
# Terms as students write them: "term: 22 --> 23", "T5", "T(5)", "term 5", "Term 23".
fact -                     : (?i)\bterm:?\s*(?P<prev_term>\d+)\s*-+>\s*(?P<term>\d+)
fact -                     : \bT(?P<term>\d+)\b
fact -                     : \bT\((?P<term>\d+)\)
fact -                     : (?i)\bterm:?\s+(?P<term>\d+)
