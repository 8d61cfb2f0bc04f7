/// Messages shaped like real clients write them, with LF line ends; `crlf` converts.
enum MIMEFixtures {
    static func crlf(_ text: String) -> [UInt8] {
        Array(text.replacingOccurrences(of: "\n", with: "\r\n").utf8)
    }

    /// Gmail: multipart/alternative, quoted-printable plain text, HTML part.
    static let gmailAlternative = """
    MIME-Version: 1.0
    From: Ana Souza <ana.souza@gmail.com>
    Date: Mon, 23 Nov 2026 09:12:44 +0100
    Message-ID: <CAF3kQ1x+abc=def@mail.gmail.com>
    Subject: =?UTF-8?Q?Re=3A_Pedido_n=C2=BA_4512_=E2=80=94_atraso?=
    To: support@acme.test
    Content-Type: multipart/alternative; boundary="000000000000a1b2c3d405f1e2d3c4"

    --000000000000a1b2c3d405f1e2d3c4
    Content-Type: text/plain; charset="UTF-8"
    Content-Transfer-Encoding: quoted-printable

    Ol=C3=A1, o meu pedido ainda n=C3=A3o chegou. Podem verificar?=20
    Obrigada

    > On Fri, support wrote:
    > Thanks for your order
    --000000000000a1b2c3d405f1e2d3c4
    Content-Type: text/html; charset="UTF-8"
    Content-Transfer-Encoding: quoted-printable

    <div dir=3D"ltr">Ol=C3=A1, o meu pedido ainda n=C3=A3o chegou.</div>
    --000000000000a1b2c3d405f1e2d3c4--

    """

    /// Outlook desktop: multipart/mixed around multipart/alternative, a base64 PDF with an
    /// RFC 2231 filename, windows-1252 text.
    static let outlookMixed = """
    From: =?iso-8859-1?Q?J=FCrgen_M=FCller?= <jm@contoso.test>
    To: "Support" <support@acme.test>
    Subject: Rechnung
    Thread-Topic: Rechnung
    Thread-Index: AdoP3yW1b9cm2nEsRk+5bHEgQzkTNw==
    Message-ID: <AM0PR07MB1234ABCD@AM0PR07MB1234.eurprd07.prod.outlook.com>
    Content-Type: multipart/mixed;
    \tboundary="_004_AM0PR07MB1234ABCD_"
    MIME-Version: 1.0

    --_004_AM0PR07MB1234ABCD_
    Content-Type: multipart/alternative;
    \tboundary="_000_AM0PR07MB1234ABCD_"

    --_000_AM0PR07MB1234ABCD_
    Content-Type: text/plain; charset="windows-1252"
    Content-Transfer-Encoding: quoted-printable

    Sehr geehrte Damen und Herren, anbei die Rechnung =96 bitte pr=FCfen.
    Gr=FC=DFe
    --_000_AM0PR07MB1234ABCD_
    Content-Type: text/html; charset="windows-1252"
    Content-Transfer-Encoding: quoted-printable

    <html><body><p>Sehr geehrte Damen und Herren</p></body></html>
    --_000_AM0PR07MB1234ABCD_--

    --_004_AM0PR07MB1234ABCD_
    Content-Type: application/pdf; name="Rechnung Nr. 1.pdf"
    Content-Description: Rechnung Nr. 1.pdf
    Content-Disposition: attachment;
    \tfilename*0*=utf-8''Rechnung%20f%C3%BCr%20;
    \tfilename*1="Juni.pdf"; size=12
    Content-Transfer-Encoding: base64
    Content-ID: <part1.abc@contoso.test>

    JVBERi0xLjQKJcfs
    j6IKMSAwIG9iago=
    --_004_AM0PR07MB1234ABCD_--

    """

    /// Apple Mail forwarding a message as an attachment (message/rfc822) with an inline note.
    static let appleForward = """
    From: Lee <lee@icloud.test>
    Subject: Fwd: Your ticket
    Content-Type: multipart/mixed; boundary="Apple-Mail=_5B1E8F0A-1111-4C2D-9E6A-2D1F7C0B9A3E"
    Mime-Version: 1.0 (Mac OS X Mail 16.0)

    --Apple-Mail=_5B1E8F0A-1111-4C2D-9E6A-2D1F7C0B9A3E
    Content-Transfer-Encoding: 7bit
    Content-Type: text/plain;
    \tcharset=us-ascii

    See below.

    --Apple-Mail=_5B1E8F0A-1111-4C2D-9E6A-2D1F7C0B9A3E
    Content-Disposition: attachment; filename="original.eml"
    Content-Type: message/rfc822

    From: Support <support@acme.test>
    Subject: Your ticket
    Content-Type: text/plain; charset=utf-8

    Ticket 77 is open.
    Second line.
    --Apple-Mail=_5B1E8F0A-1111-4C2D-9E6A-2D1F7C0B9A3E--

    """

    /// An HTML-only newsletter reply.
    static let htmlOnly = """
    From: x@y.test
    Content-Type: text/html; charset=iso-8859-1

    <html><head><style>p{color:red}</style><title>T</title></head>
    <body><p>Caf&eacute; &amp; <b>croissant</b>&nbsp;&#8364;5</p><script>alert(1)</script>Bye</body></html>
    """
}
