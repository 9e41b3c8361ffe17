"""smtp_inject.py DIR HOST PORT - every file of DIR over SMTP on 8 parallel
connections (recipients: the message's To: fields), the way Postfix takes
mail fastest from outside; exits non-zero if any message is refused. Used
by tools/bench/smtp.sh and lmtp.sh."""
import os
import smtplib
import sys
import threading

src, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
names = sorted(os.listdir(src))
errors = []


def work(part):
    try:
        s = smtplib.SMTP(host, port, timeout=60)
        for n in part:
            with open(os.path.join(src, n), "rb") as f:
                data = f.read()
            to = [l.split(b":", 1)[1].strip().decode()
                  for l in data.split(b"\r\n") if l.startswith(b"To:")]
            s.sendmail("sender@example.com", to, data)
        s.quit()
    except Exception as e:  # reported once all threads are done
        errors.append(e)


parts = [names[i::8] for i in range(8)]
threads = [threading.Thread(target=work, args=(p,)) for p in parts]
for t in threads:
    t.start()
for t in threads:
    t.join()
if errors:
    sys.exit("smtp_inject: %s" % errors[0])
