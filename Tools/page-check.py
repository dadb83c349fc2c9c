#!/usr/bin/env python3
"""Drives the clinic's web pages of a running `prolo serve` in headless Chromium, as a person with a keyboard.

    Tools/page-check.py --url URL --clinic-token T --audit-token T --patient-token T --patient ID
        --alert-patient ID --out DIR
    Tools/page-check.py --pages-only --url URL --clinic-token T --patient ID --out DIR

Signs in by typing the token and pressing Enter, opens every page (today, alerts, devices, two patients), and for
each writes the DOM (DIR/NAME.html) and screenshots at desktop and tablet width (DIR/NAME.png,
DIR/NAME-tablet.png), runs axe-core (Tools/axe/axe.min.js) and reads the browser console; prints the patient page
to an A4 PDF (DIR/patient-print.pdf); clears the open alert of --alert-patient by tabbing to its form and typing;
then signs in with the patient token and with the audit token and records what they see. Prints one JSON object
with what it found (the Swift test PageBrowserTests judges it) and exits 0 unless the browser could not be driven.
With --pages-only it signs in with the clinic token and audits the today, alerts, devices and --patient pages only
(a large store, where the decision and the other tokens are not what is being checked).

Needs python3 with selenium, chromium and chromedriver (Debian: chromium, chromium-driver).
"""
import argparse, base64, json, os, re, shutil, sys, tempfile

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.common.print_page_options import PrintOptions
from selenium.webdriver.support.ui import WebDriverWait

AXE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "axe", "axe.min.js")
DESKTOP, TABLET = (1280, 1000), (768, 1024)


def browser(profile):
    options = Options()
    options.binary_location = shutil.which("chromium") or shutil.which("chromium-browser")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 f"--user-data-dir={profile}", "--window-size=%d,%d" % DESKTOP, "--force-device-scale-factor=1"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=shutil.which("chromedriver")), options=options)


def press(driver, *keys):
    ActionChains(driver).send_keys(*keys).perform()


def tab_to(driver, predicate, limit=400):
    """Presses Tab until the focused element satisfies predicate; returns how many presses, or None."""
    for count in range(1, limit + 1):
        press(driver, Keys.TAB)
        if predicate(driver.switch_to.active_element):
            return count
    return None


def sign_in_by_keyboard(driver, url, token):
    driver.get(url + "/ui/sign-in")
    presses = tab_to(driver, lambda e: e.get_attribute("id") == "token", limit=10)
    if presses is None:
        return {"signedIn": False, "why": "Tab never reached the token field"}
    before = driver.find_element(By.TAG_NAME, "html")
    press(driver, token, Keys.ENTER)
    settle(driver, before)
    result = driver.find_elements(By.ID, "result")
    return {"signedIn": "/sign-in" not in driver.current_url, "tabs": presses, "landedOn": driver.current_url,
            "message": result[0].text if result else None}


def settle(driver, old_root, seconds=20):
    """Waits until the page that `old_root` belonged to has been replaced by a loaded one (after a form post)."""
    def replaced(d):
        try:
            old_root.tag_name  # raises once the old document is gone
            return False
        except Exception:
            return d.execute_script("return document.readyState") == "complete"
    WebDriverWait(driver, seconds).until(replaced)


def console_errors(driver):
    try:
        return [entry["message"] for entry in driver.get_log("browser") if entry.get("level") == "SEVERE"]
    except Exception as error:  # a driver without the log
        return [f"console log unavailable: {error}"]


def audit(driver, name, out):
    """DOM, screenshots, axe, console and overflow checks of the page now shown."""
    result = {"url": driver.current_url, "title": driver.title}
    with open(os.path.join(out, name + ".html"), "w", encoding="utf-8") as file:
        file.write(driver.page_source)
    driver.set_window_size(*DESKTOP)
    driver.save_screenshot(os.path.join(out, name + ".png"))
    with open(AXE, encoding="utf-8") as file:
        driver.execute_script(file.read())
    report = driver.execute_async_script(
        "var done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations), e => done([{id: 'axe-error', impact: 'critical', help: String(e), nodes: []}]));")
    result["axe"] = [{"id": v["id"], "impact": v.get("impact"), "help": v.get("help"),
                      "nodes": [n.get("target") for n in v.get("nodes", [])][:5]} for v in report]
    driver.set_window_size(*TABLET)
    result["tabletOverflow"] = driver.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth;")
    driver.save_screenshot(os.path.join(out, name + "-tablet.png"))
    driver.set_window_size(*DESKTOP)
    result["console"] = console_errors(driver)
    return result


def print_a4(driver, name, out):
    options = PrintOptions()
    options.page_width, options.page_height = 21.0, 29.7
    pdf = base64.b64decode(driver.print_page(options))
    with open(os.path.join(out, name + ".pdf"), "wb") as file:
        file.write(pdf)
    # Width of the content in print media at A4's printable width (210 mm less 24 mm margins, at 96 px/in).
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    driver.set_window_size(703, 1000)
    overflow = driver.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth;")
    hidden = driver.execute_script(
        "return ['nav', 'form', '.foot', '.skip'].every(s => [...document.querySelectorAll(s)].every(e => e.getClientRects().length === 0));")
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    driver.set_window_size(*DESKTOP)
    return {"pdfBytes": len(pdf), "pages": len(re.findall(rb"/Type\s*/Page[^s]", pdf)), "printOverflow": overflow,
            "chromeHidden": hidden}


def clear_alert_by_keyboard(driver, url, patient, clinician, reason):
    driver.get(url + "/ui/patients/" + patient)
    tabs = tab_to(driver, lambda e: (e.get_attribute("name") or "") == "clinician")
    if tabs is None:
        return {"cleared": False, "why": "Tab never reached a clinician field"}
    press(driver, clinician, Keys.TAB, reason, Keys.TAB)
    focused = driver.switch_to.active_element
    button = focused.tag_name == "button" and focused.text
    before = driver.find_element(By.TAG_NAME, "html")
    press(driver, Keys.ENTER)
    settle(driver, before)
    result = driver.find_elements(By.ID, "result")
    return {"tabs": tabs, "button": button, "url": driver.current_url,
            "result": result[0].text if result else None,
            "blocked": bool(driver.find_elements(By.ID, "blocked"))}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages-only", action="store_true",
                        help="sign in with the clinic token and audit the four pages only")
    for name in ("url", "clinic-token", "patient", "out"):
        parser.add_argument("--" + name, required=True)
    for name in ("audit-token", "patient-token", "alert-patient"):
        parser.add_argument("--" + name)
    args = parser.parse_args()
    if not args.pages_only and not (args.audit_token and args.patient_token and args.alert_patient):
        parser.error("--audit-token, --patient-token and --alert-patient are needed unless --pages-only")
    os.makedirs(args.out, exist_ok=True)
    report = {"pages": {}}
    profile = tempfile.mkdtemp(prefix="prolo-page-check-")
    driver = browser(profile)
    try:
        report["signIn"] = sign_in_by_keyboard(driver, args.url, args.clinic_token)
        pages = [("today", "/ui/today"), ("alerts", "/ui/alerts"), ("devices", "/ui/devices"),
                 ("patient", "/ui/patients/" + args.patient)]
        if not args.pages_only:
            pages.append(("alert-patient", "/ui/patients/" + args.alert_patient))
        for name, path in pages:
            driver.get(args.url + path)
            report["pages"][name] = audit(driver, name, args.out)
        if args.pages_only:
            return finish(report, args.out)
        driver.get(args.url + "/ui/patients/" + args.patient)
        report["print"] = print_a4(driver, "patient-print", args.out)
        report["clear"] = clear_alert_by_keyboard(
            driver, args.url, args.alert_patient, "prac-0012", "Reviewed in clinic: no sign of infection.")
        report["pages"]["after-clear"] = audit(driver, "after-clear", args.out)
        driver.get(args.url + "/ui/sign-in")
        report["pages"]["sign-in"] = audit(driver, "sign-in", args.out)
        driver.delete_all_cookies()

        report["patientSignIn"] = sign_in_by_keyboard(driver, args.url, args.patient_token)
        report["pages"]["own-record"] = audit(driver, "own-record", args.out)
        driver.get(args.url + "/ui/today")
        report["patientOnToday"] = {"title": driver.title, "text": driver.find_element(By.TAG_NAME, "main").text}
        report["pages"]["refused"] = audit(driver, "refused", args.out)
        driver.delete_all_cookies()

        report["auditSignIn"] = sign_in_by_keyboard(driver, args.url, args.audit_token)
        driver.get(args.url + "/ui/patients/" + args.alert_patient)
        report["auditForms"] = len(driver.find_elements(By.CSS_SELECTOR, "form.clear"))
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
    finish(report, args.out)


def finish(report, out):
    """Writes the report to OUT/report.json and to stdout."""
    with open(os.path.join(out, "report.json"), "w", encoding="utf-8") as file:
        json.dump(report, file, indent=1)
    json.dump(report, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
