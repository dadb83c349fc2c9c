/// `patient.registered`: a patient joins the clinic's record, with the personal data that identifies them.
///
/// This is the only event that carries personal data (name, birth date, contact); every other event refers
/// to the patient by the envelope's opaque patient id, so erasing personal data touches this event alone.
public struct PatientRegistered: EventPayload {
    /// This payload belongs to `patient.registered` events.
    public static let eventType = EventType.patientRegistered

    /// The patient's name.
    public struct Name: Codable, Sendable, Hashable {
        /// Given names.
        public var given: Label
        /// Family name.
        public var family: Label

        /// Makes a name.
        public init(given: Label, family: Label) {
            self.given = given
            self.family = family
        }
    }

    /// How to reach the patient; at least one field is present.
    public struct Contact: Codable, Sendable, Hashable {
        /// Telephone number as written.
        public var phone: Label?
        /// E-mail address as written.
        public var email: Label?
        /// Postal address.
        public var address: Note?

        /// Makes contact details.
        public init(phone: Label? = nil, email: Label? = nil, address: Note? = nil) {
            self.phone = phone
            self.email = email
            self.address = address
        }
    }

    /// The clinic's medical record number.
    public var mrn: Identifier
    /// The patient's name.
    public var name: Name
    /// Date of birth.
    public var birthDate: CalendarDay
    /// Administrative sex.
    public var sex: Sex
    /// Contact details, when given.
    public var contact: Contact?

    /// Makes a registration.
    public init(mrn: Identifier, name: Name, birthDate: CalendarDay, sex: Sex, contact: Contact? = nil) {
        self.mrn = mrn
        self.name = name
        self.birthDate = birthDate
        self.sex = sex
        self.contact = contact
    }

    /// Refuses empty contact details.
    public func validate() throws(PayloadError) {
        if let contact, contact.phone == nil, contact.email == nil, contact.address == nil {
            throw PayloadError(
                path: "$.contact", "contact needs at least one of phone, email or address; leave it out otherwise")
        }
    }
}
