import ProloHTML

/// The sign-in form (a clinic, audit or patient token; it never appears in a URL), and the page for a refusal.
public enum SignInPage {
    /// The sign-in page, with `message` (why the last attempt failed, or why the session ended) when there is one.
    public static func html(message: String?, clock: ClinicClock, clinic: String?) -> String {
        PageLayout.document(title: "Sign in", clinic: clinic, viewer: nil, current: nil, clock: clock) { html in
            if let message {
                html.element("div", [("class", "notice danger"), ("role", "alert"), ("id", "result")]) {
                    $0.element("p", text: message)
                }
            }
            html.element(
                "p",
                text:
                    "Sign in with a token from `prolo token issue`: a clinic or audit token for the clinic's pages, a "
                    + "patient token for that patient's own record.")
            html.element("form", [("method", "post"), ("action", "\(PageLayout.root)/sign-in")]) { form in
                form.element("label", [("for", "token")], text: "Access token")
                form.void(
                    "input",
                    [
                        ("type", "password"), ("id", "token"), ("name", "token"), ("required", ""),
                        ("autocomplete", "off"),
                        ("spellcheck", "false"),
                    ])
                form.element("button", [("type", "submit")], text: "Sign in")
            }
        }
    }

    /// A page for a refused or failed request: the status in words and what to do.
    public static func refusal(
        status: Int, message: String, clock: ClinicClock, clinic: String?, viewer: PageViewer?
    ) -> String {
        let title =
            switch status {
            case 403: "Not for this sign-in"
            case 404: "Not found"
            case 400, 422: "Not accepted"
            default: status >= 500 ? "Something went wrong" : "Refused"
            }
        return PageLayout.document(title: title, clinic: clinic, viewer: viewer, current: nil, clock: clock) { html in
            html.element("div", [("class", "notice danger"), ("role", "alert"), ("id", "result")]) {
                $0.element("p", text: message)
            }
            let home = viewer.map {
                $0.mayReadClinic ? "\(PageLayout.root)/today" : $0.patient.map(PageLayout.patientPath)
            }
            if let home = home ?? nil {
                html.element("p") { $0.element("a", [("href", home)], text: "Back to your start page") }
            } else {
                html.element("p") { $0.element("a", [("href", "\(PageLayout.root)/sign-in")], text: "Sign in") }
            }
        }
    }
}
