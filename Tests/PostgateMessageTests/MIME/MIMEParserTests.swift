import Foundation
import Testing
@testable import PostgateMessage

@Suite struct MIMEParserTests {
    private func parse(_ bytes: [UInt8], limits: MIMELimits = MIMELimits()) -> MIMEPart {
        MIMEParser(limits: limits).parse(bytes)
    }

    private func text(_ bytes: [UInt8], _ range: MIMEByteRange) -> String {
        String(decoding: MIMEBytesSource(bytes).bytes(in: range), as: UTF8.self)
    }

    @Test func gmailAlternativeTreeOffsetsAndText() throws {
        let bytes = MIMEFixtures.crlf(MIMEFixtures.gmailAlternative)
        let root = parse(bytes)
        #expect(root.contentType.mimeType == "multipart/alternative")
        #expect(root.contentType.boundary == "000000000000a1b2c3d405f1e2d3c4")
        #expect(root.parts.count == 2)
        #expect(!root.hasDefects)
        let plain = root.parts[0]
        #expect(plain.contentType.charset == "UTF-8")
        #expect(plain.transferEncoding == "quoted-printable")
        #expect(text(bytes, plain.headerRange).hasPrefix("Content-Type: text/plain"))
        #expect(text(bytes, plain.headerRange).hasSuffix("quoted-printable\r\n\r\n"))
        let body = text(bytes, plain.bodyRange)
        #expect(body.hasPrefix("Ol=C3=A1"))
        #expect(body.hasSuffix("> Thanks for your order"))  // the CRLF before the boundary is not body
        #expect(plain.bodyLineCount == 5)
        let decoded = try plain.decodedText(from: MIMEBytesSource(bytes))
        #expect(decoded.hasPrefix("Olá, o meu pedido ainda não chegou. Podem verificar? \r\nObrigada"))
        #expect(root.subject == "Re: Pedido nº 4512 — atraso")
        let extracted = try MIMETextExtractor.text(of: root, from: MIMEBytesSource(bytes))
        #expect(MIMETextExtractor.snippet(extracted) == "Olá, o meu pedido ainda não chegou. Podem verificar? Obrigada")
        #expect(root.bodyRange.end == bytes.count)
        #expect(root.headerRange.offset == 0 && root.bodyRange.offset == root.headerRange.end)
    }

    @Test func outlookNestedMultipartWithAttachment() throws {
        let bytes = MIMEFixtures.crlf(MIMEFixtures.outlookMixed)
        let root = parse(bytes)
        #expect(root.contentType.boundary == "_004_AM0PR07MB1234ABCD_")
        #expect(root.parts.map(\.contentType.mimeType) == ["multipart/alternative", "application/pdf"])
        #expect(root.parts[0].parts.map(\.contentType.mimeType) == ["text/plain", "text/html"])
        let pdf = root.parts[1]
        #expect(pdf.disposition?.type == "attachment")
        #expect(pdf.disposition?.filename == "Rechnung für Juni.pdf")
        #expect(pdf.disposition?.parameters["size"] == "12")
        #expect(pdf.contentType.parameters["name"] == "Rechnung Nr. 1.pdf")
        #expect(pdf.contentID == "<part1.abc@contoso.test>")
        #expect(pdf.contentDescription == "Rechnung Nr. 1.pdf")
        #expect(try pdf.decodedBody(from: MIMEBytesSource(bytes)) == Array("%PDF-1.4\n%\u{C7}\u{EC}\u{8F}\u{A2}\n1 0 obj\n".unicodeScalars.map { UInt8($0.value) }))
        let plainText = try root.parts[0].parts[0].decodedText(from: MIMEBytesSource(bytes))
        #expect(plainText == "Sehr geehrte Damen und Herren, anbei die Rechnung – bitte prüfen.\r\nGrüße")
        #expect(EncodedWordDecoder.decode(root.header["From"]!) == "Jürgen Müller <jm@contoso.test>")
        #expect(root.allParts.count == 5)
    }

    @Test func encapsulatedMessageIsOneChildWithItsOwnTree() throws {
        let bytes = MIMEFixtures.crlf(MIMEFixtures.appleForward)
        let root = parse(bytes)
        #expect(root.parts.count == 2)
        let attached = root.parts[1]
        #expect(attached.contentType.isEncapsulatedMessage)
        #expect(attached.parts.count == 1)
        let inner = attached.parts[0]
        #expect(inner.header["Subject"] == "Your ticket")
        #expect(inner.headerRange.offset == attached.bodyRange.offset)
        #expect(inner.bodyRange.end == attached.bodyRange.end)
        #expect(text(bytes, inner.bodyRange) == "Ticket 77 is open.\r\nSecond line.")
        #expect(attached.bodyLineCount == 6)
        #expect(inner.bodyLineCount == 2)
        #expect(try MIMETextExtractor.text(of: root, from: MIMEBytesSource(bytes)) == "See below.\r\n")
    }

    @Test func htmlOnlyIsStrippedForText() throws {
        let bytes = Array(MIMEFixtures.htmlOnly.utf8)
        let root = parse(bytes)
        let text = try MIMETextExtractor.text(of: root, from: MIMEBytesSource(bytes))
        #expect(MIMETextExtractor.snippet(text) == "Café & croissant €5 Bye")
    }

    @Test func lfAndCRLFGiveTheSameTree() {
        let lf = parse(Array(MIMEFixtures.outlookMixed.utf8))
        let crlf = parse(MIMEFixtures.crlf(MIMEFixtures.outlookMixed))
        #expect(lf.allParts.map(\.contentType) == crlf.allParts.map(\.contentType))
        #expect(lf.allParts.map(\.bodyLineCount) == crlf.allParts.map(\.bodyLineCount))
        #expect(!lf.hasDefects)
    }

    /// A single-part body is only counted, not split: its line count and ranges must be
    /// those of splitting, whatever the chunks, a last line without a break included, and
    /// a delimiter-like line in it stays body.
    @Test func singlePartBodiesAreCountedAlike() throws {
        let texts = [
            "Subject: a\r\n\r\none\r\n--x\r\nthree",
            "Subject: a\r\n\r\none\r\ntwo\r\n",
            "Subject: a\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\nl1\nl2\r\nl3",
            "Subject: only a header\r\n",
        ]
        let expectedLines = [3, 2, 5, 0]
        for (text, lines) in zip(texts, expectedLines) {
            let bytes = Array(text.utf8)
            let root = parse(bytes)
            #expect(root.bodyLineCount == lines, "\(text)")
            #expect(root.bodyRange.end == bytes.count)
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("mime-\(UUID().uuidString).eml").path
            _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
            defer { try? FileManager.default.removeItem(atPath: path) }
            for size in [1, 2, 5, 64] { #expect(try MIMEParser(chunkSize: size).parse(fileAtPath: path) == root, "\(text)") }
        }
        let inner = try #require(parse(Array(texts[2].utf8)).parts.first)
        #expect(inner.subject == "inner")
        #expect(inner.bodyLineCount == 3)
    }

    @Test func asciiCheckSeesEveryByte() {
        #expect(MIMECharset.isASCII(Array("plain text of some length".utf8)))
        #expect(MIMECharset.isASCII([]))
        for position in 0..<20 {
            var bytes = [UInt8](repeating: 0x41, count: 20)
            bytes[position] = 0xC3
            #expect(!MIMECharset.isASCII(bytes), "high byte at \(position)")
        }
    }

    @Test func fileParsedInSmallChunksMatchesBytes() throws {
        let bytes = MIMEFixtures.crlf(MIMEFixtures.outlookMixed)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("mime-\(UUID().uuidString).eml").path
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let fromFile = try MIMEParser(chunkSize: 7).parse(fileAtPath: path)
        #expect(fromFile == parse(bytes))
        // Chunks that end between CR and LF, and one byte at a time.
        for size in [1, 2, 3] { #expect(try MIMEParser(chunkSize: size).parse(fileAtPath: path) == fromFile) }
        let pdf = fromFile.parts[1]
        #expect(try pdf.decodedBody(from: MIMEFileSource(path: path)) == pdf.decodedBody(from: MIMEBytesSource(bytes)))
    }

    @Test func missingFinalBoundaryRunsToTheEnd() {
        let bytes = MIMEFixtures.crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b\n\ntwo\nlast")
        let root = parse(bytes)
        #expect(root.parts.count == 2)
        #expect(root.defects == [.missingFinalBoundary])
        #expect(text(bytes, root.parts[1].bodyRange) == "two\r\nlast")
    }

    @Test func longBoundaryParameterIsHonoured() {
        let boundary = String(repeating: "=_long-boundary_", count: 6)  // 96 characters
        let bytes = MIMEFixtures.crlf("Content-Type: multipart/mixed;\n boundary=\"\(boundary)\"\n\npreamble\n--\(boundary)\n\nA\n--\(boundary)--\nepilogue\n")
        let root = parse(bytes)
        #expect(root.parts.count == 1)
        #expect(text(bytes, root.parts[0].bodyRange) == "A")
        #expect(!root.hasDefects)
    }

    @Test func boundaryLongerThanTheHeaderLimitLeavesOneLeaf() {
        let boundary = String(repeating: "x", count: 300)
        let bytes = MIMEFixtures.crlf("Content-Type: multipart/mixed; boundary=\(boundary)\n\n--\(boundary)\n\nA\n--\(boundary)--\n")
        #expect(parse(bytes).parts.count == 1)
        let root = parse(bytes, limits: MIMELimits(maximumHeaderBytes: 100))
        #expect(root.parts.isEmpty)
        #expect(root.defects == [.headerTruncated])
    }

    @Test func depthLimitStopsNesting() {
        var message = ""
        for level in 0..<200 { message += "Content-Type: multipart/mixed; boundary=b\(level)\n\n--b\(level)\n" }
        message += "\nleaf\n"
        let root = parse(Array(message.utf8), limits: MIMELimits(maximumDepth: 10))
        var depth = 0
        var part = root
        while let child = part.parts.first { part = child; depth += 1 }
        #expect(depth == 10)
        #expect(part.defects.contains(.depthLimit))
    }

    @Test func nestedEncapsulatedMessagesAreBoundedToo() {
        let message = String(repeating: "Content-Type: message/rfc822\n\n", count: 5000) + "body\n"
        let root = parse(Array(message.utf8))
        #expect(root.allParts.count == MIMELimits().maximumDepth + 1)
    }

    @Test func partCountLimit() {
        var message = "Content-Type: multipart/mixed; boundary=b\n\n"
        for index in 0..<5000 { message += "--b\n\npart \(index)\n" }
        message += "--b--\n"
        let root = parse(Array(message.utf8), limits: MIMELimits(maximumParts: 100))
        #expect(root.parts.count == 99)
        #expect(root.defects.contains(.partLimit))
    }

    @Test func hugeHeaderIsTruncatedNotKept() {
        let message = "Subject: x\n" + String(repeating: "X-Junk: \(String(repeating: "a", count: 1000))\n", count: 500) + "\nbody"
        let root = parse(Array(message.utf8), limits: MIMELimits(maximumHeaderBytes: 10_000))
        #expect(root.defects.contains(.headerTruncated))
        #expect(root.header["Subject"] == "x")
        #expect(root.header.fields.count < 12)
        #expect(root.bodyLineCount == 1)
    }

    @Test func multipartWithoutBoundaryIsALeaf() {
        let root = parse(Array("Content-Type: multipart/mixed\n\n--x\n\nhi\n".utf8))
        #expect(root.parts.isEmpty)
        #expect(root.defects == [.missingBoundaryParameter])
    }

    @Test func defaultsAndDigest() {
        let root = parse(Array("Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: one\n\nbody\n--d--\n".utf8))
        #expect(root.parts[0].contentType.mimeType == "message/rfc822")
        #expect(root.parts[0].parts.first?.header["Subject"] == "one")
        let plain = parse(Array("Subject: no type\n\nhi\n".utf8))
        #expect(plain.contentType == .textPlain)
        #expect(plain.transferEncoding == "7bit")
    }

    @Test func headerWithoutEmptyLineAndEmptyInput() {
        let root = parse(Array("Subject: only a header\r\nFrom: a@b.test".utf8))
        #expect(root.header["From"] == "a@b.test")
        #expect(root.defects == [.missingHeaderEnd])
        let empty = parse([UInt8]())
        #expect(empty.parts.isEmpty && empty.bodyRange.length == 0)
    }

    @Test func randomGarbageNeverCrashes() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("-\r\n:;=\"abAB b=x".utf8)
        for _ in 0..<200 {
            let length = Int.random(in: 0..<2000, using: &generator)
            var bytes = Array("Content-Type: multipart/mixed; boundary=b\n\n".utf8)
            bytes += (0..<length).map { _ in alphabet.randomElement(using: &generator)! }
            let root = parse(bytes)
            for part in root.allParts {
                #expect(part.bodyRange.offset >= 0 && part.bodyRange.end <= bytes.count)
                #expect(part.headerRange.end <= part.bodyRange.offset || part.headerRange.end <= bytes.count)
            }
        }
    }
}
