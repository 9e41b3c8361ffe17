// mono_writer.cs - Pickup files as .NET/Mono's System.Net.Mail.SmtpClient
// writes them (DeliveryMethod = SpecifiedPickupDirectory), for
// test_real_writers.sh. For each message it also writes BOX.expect.json
// (tests/integration/check_corpus.py's format): the text the application
// meant, which the delivered copy must read as with a strict reader.
//
//   mono mono_writer.exe PICKUP_DIR EXPECT_DIR
using System;
using System.IO;
using System.Net.Mail;
using System.Security.Cryptography;
using System.Text;

class MonoWriter {
	static string Json(string s) {
		var b = new StringBuilder("\"");
		foreach (char c in s) {
			if (c == '"' || c == '\\') b.Append('\\').Append(c);
			else if (c == '\n') b.Append("\\n");
			else if (c == '\r') b.Append("\\r");
			else if (c < ' ') b.AppendFormat("\\u{0:x4}", (int)c);
			else b.Append(c);
		}
		return b.Append('"').ToString();
	}

	static string Hex(byte[] h) {
		var b = new StringBuilder();
		foreach (byte x in h) b.AppendFormat("{0:x2}", x);
		return b.ToString();
	}

	static void Send(string pickup, string expect, string box, string fromName,
	    string subject, Encoding subjEnc, string body, Encoding bodyEnc,
	    string attName, byte[] att) {
		var c = new SmtpClient();
		c.DeliveryMethod = SmtpDeliveryMethod.SpecifiedPickupDirectory;
		c.PickupDirectoryLocation = pickup;
		var m = new MailMessage(new MailAddress("app@example.com", fromName),
		    new MailAddress(box + "@example.com"));
		m.Subject = subject;
		m.SubjectEncoding = subjEnc;
		m.Body = body;
		m.BodyEncoding = bodyEnc;
		string atts = "";
		if (att != null) {
			m.Attachments.Add(new Attachment(new MemoryStream(att), attName,
			    "application/octet-stream"));
			atts = ",\n  \"attachments\": [{\"content_type\": " +
			    "\"application/octet-stream\", \"sha256\": \"" +
			    Hex(SHA256.Create().ComputeHash(att)) + "\", \"filename\": " +
			    Json(attName) + "}]";
		}
		c.Send(m);
		File.WriteAllText(Path.Combine(expect, box + ".expect.json"),
		    "{\n  \"subject\": " + Json(subject) + ",\n  \"from_display\": " +
		    Json(fromName) + ",\n  \"parts\": [{\"content_type\": " +
		    "\"text/plain\", \"text\": " + Json(body) + "}]" + atts + "\n}\n",
		    new UTF8Encoding(false));
	}

	static void Main(string[] args) {
		var bin = new byte[] { 0x25, 0x50, 0x44, 0x46, 0, 1, 2, 0xff, 0x80 };
		// Japanese in iso-2022-jp, leading dots, a final "." line, an
		// attachment with a non-ASCII name
		Send(args[0], args[1], "mono1", "Café Müller",
		    "会議の日程について", Encoding.GetEncoding("iso-2022-jp"),
		    "山田です。\n.leading dot line\n..two dots\nend\n.",
		    Encoding.GetEncoding("iso-2022-jp"), "Résumé – 履歴書.pdf", bin);
		// Russian in windows-1251, a subject far over 998 octets
		var sb = new StringBuilder();
		for (int i = 1; i <= 40; i++) sb.Append("Отчёт за март №" + i + " ");
		Send(args[0], args[1], "mono2", "Мария Сидорова",
		    sb.ToString().Trim(), Encoding.GetEncoding("windows-1251"),
		    "Здравствуйте!\n.Точка в начале строки.\nС уважением, Мария",
		    Encoding.GetEncoding("windows-1251"), "Отчёт №1.xlsx", bin);
		// Shift_JIS with the NEC row 13 (①) and a wave dash
		Send(args[0], args[1], "mono3", "佐藤 花子",
		    "①見積書の件～ご確認ください", Encoding.GetEncoding("shift_jis"),
		    "佐藤です。\n①見積書を送ります。\n.以上",
		    Encoding.GetEncoding("shift_jis"), null, null);
		// koi8-r subject, UTF-8 body
		Send(args[0], args[1], "mono4", "Иван",
		    "Привет из KOI8-R", Encoding.GetEncoding("koi8-r"),
		    "Grüße, Привет, 世界\n..\n.", Encoding.UTF8, null, null);
	}
}
