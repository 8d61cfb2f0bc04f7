import Testing
@testable import PostgateMessage

@Suite struct MIMEDecoderTests {
    @Test func quotedPrintable() {
        let decoded = QuotedPrintableDecoder.decode(Array("caf=C3=A9 =\r\nsoft  \r\nbad=ZZ end=\nx=3d".utf8))
        #expect(String(decoding: decoded, as: UTF8.self) == "café soft\r\nbad=ZZ endx=")
    }

    @Test func base64Lenient() {
        #expect(Base64Decoder.decode(Array("SGVs\r\nbG8g\nd29y bGQ=".utf8)) == Array("Hello world".utf8))
        #expect(Base64Decoder.decode(Array("SGVsbG8".utf8)) == Array("Hello".utf8))  // missing padding
        #expect(Base64Decoder.decode(Array("*&^%".utf8)).isEmpty)
    }

    @Test func encodedWords() {
        #expect(EncodedWordDecoder.decode("=?UTF-8?B?w6lsw6h2ZQ==?= =?UTF-8?Q?_r=C3=A9ponse?=") == "élève réponse")
        // A multi-byte character split over two words (Outlook does this).
        #expect(EncodedWordDecoder.decode("=?utf-8?B?4oKs?= =?utf-8?B?wqk=?=") == "€©")
        #expect(EncodedWordDecoder.decode("=?utf-8?B?4o==?= =?utf-8?B?gqw=?=") == "€")
        #expect(EncodedWordDecoder.decode("Re: =?ISO-8859-15?Q?=A4uro?= ok") == "Re: €uro ok")
        #expect(EncodedWordDecoder.decode("=?windows-1251?B?z/Do4uXy?=") == "Привет")
        #expect(EncodedWordDecoder.decode("=?koi8-r?B?8NLJ18XU?=") == "Привет")
        #expect(EncodedWordDecoder.decode("=?utf-8*en?Q?hi?=") == "hi")
        #expect(EncodedWordDecoder.decode("=?bogus?X?abc?= plain =?") == "=?bogus?X?abc?= plain =?")
        #expect(EncodedWordDecoder.decode("a =?utf-8?Q?b?= c") == "a b c")
    }

    @Test func charsetFallbacks() {
        #expect(MIMECharset.decode([0x63, 0x61, 0x66, 0xE9], charset: "x-unknown") == "café")
        #expect(MIMECharset.decode(Array("café".utf8), charset: nil) == "café")
        #expect(MIMECharset.decode([0xE9], charset: "us-ascii") == "é")
        #expect(MIMECharset.encoding(named: "ISO-8859-2") == .isoLatin2)
        #expect(MIMECharset.decode([0xB1], charset: "iso-8859-2") == "ą")
        #expect(MIMECharset.decode([0x80], charset: "windows-1252") == "€")
    }

    @Test func parametersWithContinuationsCommentsAndQuotes() {
        let (value, parameters) = MIMEParameterParser.parse(
            "Multipart/Mixed (comment; here); boundary=\"a;b\\\"c\"; title*0*=us-ascii'en'This%20is%20; title*1*=%2A%2A%2Afun%2A%2A%2A; title*2=\"isn't it!\"; name=\"=?utf-8?Q?r=C3=A9sum=C3=A9.pdf?=\"")
        #expect(value == "multipart/mixed")
        #expect(parameters["boundary"] == "a;b\"c")
        #expect(parameters["title"] == "This is ***fun***isn't it!")
        #expect(parameters["name"] == "résumé.pdf")
        let iso = MIMEParameterParser.parse("attachment; filename*=iso-8859-1''caf%E9.txt")
        #expect(iso.parameters["filename"] == "café.txt")
    }

    @Test func htmlText() {
        let text = HTMLTextExtractor.text(fromHTML: "<p>a<br>b</p><!-- c --><div>&lt;d&gt; &#x41;&#66;</div><script>x</script>e")
        #expect(text == "\na\nb\n\n<d> AB\ne")
        #expect(HTMLTextExtractor.text(fromHTML: "unterminated <b") == "unterminated ")
    }

    @Test func snippetIsOneBoundedLine() {
        #expect(MIMETextExtractor.snippet("Hello\r\n\r\n  there\n> quoted\nend", maximumLength: 100) == "Hello there end")
        #expect(MIMETextExtractor.snippet(String(repeating: "word ", count: 50), maximumLength: 10) == "word word…")
    }
}
