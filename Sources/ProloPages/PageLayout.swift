import Foundation
public import ProloHTML

/// The frame every page shares: the document head with the inline stylesheet (screen, tablet width and an A4
/// print view), a skip link, the navigation the viewer may use, the sign-out form, and the main landmark.
///
/// Pages load nothing else: no script, no font, no image file; the CSP the server sends forbids them.
public enum PageLayout {
    /// The sections of the navigation.
    public enum Section: String, Sendable, CaseIterable {
        case today, alerts, devices, patient

        var label: String {
            switch self {
            case .today: "Today"
            case .alerts: "Alerts"
            case .devices: "Devices"
            case .patient: "Patient"
            }
        }
    }

    /// Where pages live on the server.
    public static let root = "/ui"

    /// The path of a patient's page.
    public static func patientPath(_ patient: String) -> String {
        "\(root)/patients/\(percentEncoded(patient))"
    }

    /// A whole document: `title` in the head and the first heading, the viewer's navigation (none when signed out),
    /// and `body` inside `<main>`.
    public static func document(
        title: String, clinic: String?, viewer: PageViewer?, current: Section?, clock: ClinicClock,
        _ body: (inout HTML) -> Void
    ) -> String {
        var html = HTML()
        html.raw("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
        // An empty icon, so the browser does not ask the server for /favicon.ico.
        html.raw(
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><link rel=\"icon\" href=\"data:,\">"
        )
        html.element("title", text: "\(title) · \(clinic ?? "Prolo")")
        html.raw("<style>\(stylesheet)</style></head><body>")
        html.raw("<a class=\"skip\" href=\"#main\">Skip to content</a>")
        html.element("header", [("class", "top")]) { header in
            header.element("p", [("class", "brand")], text: clinic ?? "Prolo clinic")
            if let viewer { navigation(&header, viewer: viewer, current: current) }
        }
        html.element("main", [("id", "main"), ("tabindex", "-1")]) { main in
            main.element("h1", text: title)
            body(&main)
        }
        html.element("footer", [("class", "foot")]) { footer in
            footer.text("Times are shown in \(clock.zoneName); hover over a time to see it in UTC.")
            if let viewer { footer.text(" Signed in with a \(viewer.description).") }
        }
        html.raw("</body></html>\n")
        return html.markup
    }

    private static func navigation(_ html: inout HTML, viewer: PageViewer, current: Section?) {
        html.element("nav", [("aria-label", "Pages")]) { nav in
            nav.element("ul") { list in
                if viewer.mayReadClinic {
                    for section in [Section.today, .alerts, .devices] {
                        list.element("li") {
                            $0.element(
                                "a",
                                [
                                    ("href", "\(root)/\(section.rawValue)"),
                                    ("aria-current", current == section ? "page" : nil),
                                ],
                                text: section.label)
                        }
                    }
                } else if let patient = viewer.patient {
                    list.element("li") {
                        $0.element(
                            "a",
                            [("href", patientPath(patient)), ("aria-current", current == .patient ? "page" : nil)],
                            text: "My record")
                    }
                }
            }
            nav.element("form", [("method", "post"), ("action", "\(root)/sign-out"), ("class", "inline")]) { form in
                csrfField(&form, viewer)
                form.element("button", [("type", "submit")], text: "Sign out")
            }
        }
    }

    /// The hidden CSRF field of a form.
    public static func csrfField(_ html: inout HTML, _ viewer: PageViewer) {
        html.void("input", [("type", "hidden"), ("name", "csrf"), ("value", viewer.csrfToken)])
    }

    /// A table in a region that scrolls sideways on a narrow screen and can be reached with the keyboard.
    public static func table(
        _ html: inout HTML, label: String, headers: [String], _ rows: (inout HTML) -> Void
    ) {
        html.element("div", [("class", "scroll"), ("role", "region"), ("aria-label", label), ("tabindex", "0")]) {
            region in
            region.element("table") { table in
                table.element("thead") { head in
                    head.element("tr") { row in
                        for header in headers { row.element("th", [("scope", "col")], text: header) }
                    }
                }
                table.element("tbody", [], rows)
            }
        }
    }

    /// A kind of alert in words: `possible-infection` → `Possible infection`.
    public static func words(_ kind: String) -> String {
        let spaced = kind.replacingOccurrences(of: "-", with: " ")
        return spaced.prefix(1).uppercased() + spaced.dropFirst()
    }

    /// `text` with every character but unreserved ones percent-encoded, for one path segment.
    public static func percentEncoded(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: ":"):
                result.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                result += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return result
    }

    /// Contrast checked against WCAG AA (4.5:1 for text) on white: #1b1b1b, #0a4b91 links, #8a1014 alerts,
    /// #245c2a success, #5a4000 warnings, #454545 secondary text.
    static let stylesheet = """
        *{box-sizing:border-box}
        body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1b1b;background:#fff}
        a{color:#0a4b91}a:hover{text-decoration-thickness:2px}
        :focus-visible{outline:3px solid #0a4b91;outline-offset:2px}
        .skip{position:absolute;left:-999px;top:0;background:#fff;padding:.5em 1em;z-index:1}.skip:focus{left:.5em}
        .top{display:flex;flex-wrap:wrap;align-items:center;justify-content:space-between;gap:.5em 1.5em;padding:.6em 1.2em;background:#f1f4f8;border-bottom:1px solid #c9d2dc}
        .brand{margin:0;font-weight:700}
        nav{display:flex;flex-wrap:wrap;align-items:center;gap:.5em 1.5em}
        nav ul{display:flex;flex-wrap:wrap;gap:.25em 1em;list-style:none;margin:0;padding:0}
        nav a{display:inline-block;padding:.35em .2em;font-weight:600}
        nav a[aria-current=page]{color:#1b1b1b;text-decoration:none;border-bottom:3px solid #0a4b91}
        main{display:block;max-width:72em;margin:0 auto;padding:1em 1.2em 2em}
        h1{font-size:1.6em;margin:.3em 0 .6em}h2{font-size:1.25em;margin:1.6em 0 .5em}
        .scroll{overflow-x:auto;max-width:100%}
        table{border-collapse:collapse;width:100%;margin:.3em 0 1em}
        th,td{border:1px solid #c9d2dc;padding:.4em .6em;text-align:left;vertical-align:top}
        thead th{background:#f1f4f8}tbody th{background:#f8f9fb;font-weight:600;width:14em}
        code{font-size:.85em;word-break:break-all}
        .muted{color:#454545}
        .badge{display:inline-block;padding:0 .45em;border-radius:.3em;font-size:.85em;font-weight:700;border:1px solid}
        .badge.danger{color:#8a1014;border-color:#8a1014;background:#fdeeee}
        .badge.warn{color:#5a4000;border-color:#8a6500;background:#fff6d9}
        .badge.ok{color:#245c2a;border-color:#245c2a;background:#ecf7ee}
        .notice{border-left:6px solid;padding:.6em 1em;margin:1em 0;background:#f8f9fb}
        .notice.danger{border-color:#8a1014;background:#fdeeee}.notice.ok{border-color:#245c2a;background:#ecf7ee}
        .notice.warn{border-color:#8a6500;background:#fff6d9}
        .notice p{margin:.2em 0}
        form.inline{display:inline}
        form.clear{margin:.5em 0;padding:.6em;border:1px solid #c9d2dc;background:#fafbfc}
        label{display:block;font-weight:600;margin:.4em 0 .15em}
        input[type=text],input[type=password],textarea{width:100%;max-width:32em;font:inherit;padding:.4em;border:1px solid #5d6b78;border-radius:.2em}
        textarea{min-height:4em}
        button{font:inherit;font-weight:600;padding:.4em 1em;border:2px solid #0a4b91;border-radius:.3em;background:#0a4b91;color:#fff;cursor:pointer;margin-top:.5em}
        nav button{background:#fff;color:#0a4b91;margin:0}
        .retracted td{text-decoration:line-through;text-decoration-color:#8a1014}
        .retracted td.correction{text-decoration:none}
        .amended td:first-child{border-left:4px solid #8a6500}
        .chart{max-width:100%;height:auto;border:1px solid #c9d2dc}
        .legend{display:flex;flex-wrap:wrap;gap:.3em 1.2em;margin:.3em 0;padding:0;list-style:none}
        .foot{max-width:72em;margin:0 auto;padding:1em 1.2em;color:#454545;font-size:.9em;border-top:1px solid #c9d2dc}
        @media (max-width:800px){body{font-size:15px}main{padding:.8em}tbody th{width:auto}th,td{padding:.35em .4em}}
        @media print{
        @page{size:A4;margin:14mm 12mm}
        body{font-size:10pt;color:#000}
        .top,.skip,nav,form,.foot{display:none}
        main{max-width:none;padding:0}
        .scroll{overflow:visible}
        table{page-break-inside:auto}tr{break-inside:avoid}
        h2{break-after:avoid}
        .chart{width:100%;border:none}
        a{color:#000;text-decoration:none}
        }
        """
}
