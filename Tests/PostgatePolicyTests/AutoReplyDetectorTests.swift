import PostgateMessage
import Testing
@testable import PostgatePolicy

@Suite struct AutoReplyDetectorTests {
    private func marker(_ fields: [(String, String)], sender: String = "alice@example.com") -> AutoReplyMarker? {
        AutoReplyDetector.marker(header: header([("From", "Alice <alice@example.com>"), ("Subject", "Order 1234")] + fields),
                                 envelopeSender: sender)
    }

    @Test func aPersonsMessageHasNoMarker() {
        #expect(marker([]) == nil)
        #expect(marker([("Auto-Submitted", "no")]) == nil)
        #expect(marker([("Auto-Submitted", " No (written by a person)")]) == nil)
        #expect(marker([("X-Autoreply", "no")]) == nil)
        #expect(marker([("Precedence", "first-class")]) == nil)
        #expect(marker([("Content-Type", "multipart/mixed; boundary=x")]) == nil)
    }

    @Test func xAutoResponseSuppressIsNotAMarker() {
        #expect(marker([("X-Auto-Response-Suppress", "All")]) == nil)
        #expect(marker([("X-Auto-Response-Suppress", "DR, RN, NRN, OOF, AutoReply")]) == nil)
    }

    @Test func autoSubmittedAnythingButNo() {
        #expect(marker([("Auto-Submitted", "auto-replied")]) == .autoSubmitted("auto-replied"))
        #expect(marker([("auto-submitted", "Auto-Generated")]) == .autoSubmitted("auto-generated"))
        #expect(marker([("Auto-Submitted", "auto-notified; owner-email=\"x@y.example\"")]) == .autoSubmitted("auto-notified"))
        #expect(marker([("Auto-Submitted", "x-vendor-thing")]) == .autoSubmitted("x-vendor-thing"))
    }

    @Test func autoreplyFields() {
        #expect(marker([("X-Autoreply", "yes")]) == .autoreplyField("X-Autoreply"))
        #expect(marker([("X-Autorespond", "Out of office")]) == .autoreplyField("X-Autorespond"))
        #expect(marker([("x-autoresponder", "")]) == .autoreplyField("X-Autoresponder"))
    }

    @Test func bulkPrecedences() {
        for value in ["bulk", "junk", "list", "auto_reply", "BULK"] {
            #expect(marker([("Precedence", value)]) == .precedence(value.lowercased()))
        }
    }

    @Test func nullAndSystemSenders() {
        #expect(marker([], sender: "") == .nullSender)
        #expect(marker([], sender: "MAILER-DAEMON@mx.example.com") == .systemSender("mailer-daemon@mx.example.com"))
        #expect(marker([], sender: "postmaster@example.com") == .systemSender("postmaster@example.com"))
        let fromDaemon = AutoReplyDetector.marker(
            header: header([("From", "Mail Delivery System <MAILER-DAEMON@mx.example.com>")]), envelopeSender: "bounce@example.com")
        #expect(fromDaemon == .systemSender("mailer-daemon@mx.example.com"))
    }

    @Test func deliveryReports() {
        #expect(marker([("Content-Type", "multipart/report; report-type=delivery-status; boundary=\"b\"")]) == .report("delivery-status"))
        #expect(marker([("Content-Type", "Multipart/Report; report-type=\"disposition-notification\"")]) == .report("disposition-notification"))
    }

    @Test(arguments: [
        ("Out of Office: Order 1234", "English"),
        ("Automatic reply: Your request", "English"),
        ("AutoReply: thanks", "English"),
        ("Abwesenheitsnotiz: Ihre Anfrage", "German"),
        ("Automatische Antwort: Bestellung", "German"),
        ("Nicht im Büro", "German"),
        ("Réponse automatique : commande", "French"),
        ("REPONSE AUTOMATIQUE", "French"),
        ("Absence du bureau", "French"),
        ("Respuesta automática: pedido", "Spanish"),
        ("Fuera de la oficina", "Spanish"),
        ("Risposta automatica: ordine", "Italian"),
        ("Fuori ufficio fino al 3", "Italian"),
        ("Automatisch antwoord: bestelling", "Dutch"),
        ("Afwezigheidsmelding", "Dutch"),
        ("Resposta automática: pedido", "Portuguese"),
        ("Fora do escritório", "Portuguese"),
        ("Automatiskt svar: order", "Swedish"),
        ("Frånvaromeddelande", "Swedish"),
        ("Automatisk svar", "Danish/Norwegian"),
        ("Automaattinen vastaus", "Finnish"),
        ("Automatyczna odpowiedź", "Polish"),
        ("Automatická odpověď", "Czech"),
        ("Otomatik yanıt", "Turkish"),
    ])
    func outOfOfficeSubjects(subject: String, language: String) {
        let found = AutoReplyDetector.marker(header: header([("Subject", subject)]), envelopeSender: "a@example.com")
        #expect(found == .outOfOfficeSubject(language: language))
    }

    @Test func encodedSubjectsAreDecoded() {
        let subjects = [
            "=?UTF-8?Q?R=C3=A9ponse_automatique?=",
            "=?utf-8?B?UsOpcG9uc2UgYXV0b21hdGlxdWU=?=",
            "=?ISO-8859-1?Q?R=E9ponse?= =?ISO-8859-1?Q?_automatique?=",
        ]
        for subject in subjects {
            let found = AutoReplyDetector.marker(header: header([("Subject", subject)]), envelopeSender: "a@example.com")
            #expect(found == .outOfOfficeSubject(language: "French"), "\(subject)")
        }
    }

    /// ASCII subjects are folded without Foundation; the result must be Foundation's.
    @Test func asciiFoldingMatchesFoundationFolding() {
        let subjects = ["  OUT of\tThe   Office: back MONDAY ", "Auto-Reply\r\n (Re: [#42])", "", "   ", "A~Z{|}@[`]^_"]
        for subject in subjects {
            #expect(OutOfOfficeSubjects.fold(subject) == OutOfOfficeSubjects.foldUnicode(subject), "\(subject)")
        }
        #expect(OutOfOfficeSubjects.fold("Réponse  AUTOMATIQUE") == "reponse automatique")
    }

    @Test func ordinarySubjectsAreNotOutOfOffice() {
        for subject in ["Office chair broken", "Re: my reply about the order", "Automatically charged twice?", "Vacation booking"] {
            #expect(AutoReplyDetector.marker(header: header([("Subject", subject)]), envelopeSender: "a@example.com") == nil, "\(subject)")
        }
    }
}
