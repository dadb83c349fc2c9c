// The shared words of the v1 clinical catalog (DESIGN §10): the enumerations and small records that
// several event payloads use. Raw values are the exact strings of the JSON Schemas in `Schemas/events/`.

/// A patient's administrative sex, as recorded at registration.
public enum Sex: String, Codable, Sendable, CaseIterable {
    /// Female.
    case female
    /// Male.
    case male
    /// Neither female nor male.
    case other
    /// Not known or not disclosed.
    case unknown
}

/// The part of the back an exam or a course concerns.
public enum BodyRegion: String, Codable, Sendable, CaseIterable {
    /// The thoracolumbar junction (T10–L2).
    case thoracolumbar
    /// The lumbar spine (L1–L5).
    case lumbar
    /// The lumbosacral junction (L4–S1).
    case lumbosacral
    /// The sacroiliac joints and their ligaments.
    case sacroiliac
}

/// Which side of the body a finding or an injection concerns.
public enum Side: String, Codable, Sendable, CaseIterable {
    /// The patient's left.
    case left
    /// The patient's right.
    case right
    /// Both sides.
    case bilateral
    /// The midline (supraspinous and interspinous ligaments).
    case midline
}

/// A lumbar or lumbosacral motion segment, for segmental ligaments and facet capsules.
public enum SpinalLevel: String, Codable, Sendable, CaseIterable {
    /// Between the first and second lumbar vertebrae.
    case l1L2 = "L1-L2"
    /// Between the second and third lumbar vertebrae.
    case l2L3 = "L2-L3"
    /// Between the third and fourth lumbar vertebrae.
    case l3L4 = "L3-L4"
    /// Between the fourth and fifth lumbar vertebrae.
    case l4L5 = "L4-L5"
    /// Between the fifth lumbar vertebra and the sacrum.
    case l5S1 = "L5-S1"
}

/// A sacroiliac provocation test (the Laslett cluster plus FABER), each side tested on its own where it has sides.
public enum ProvocationTest: String, Codable, Sendable, CaseIterable {
    /// Distraction (gapping) test.
    case distraction
    /// Thigh thrust (posterior shear) test.
    case thighThrust = "thigh-thrust"
    /// Compression test.
    case compression
    /// Sacral thrust test.
    case sacralThrust = "sacral-thrust"
    /// Gaenslen's test, left side.
    case gaenslenLeft = "gaenslen-left"
    /// Gaenslen's test, right side.
    case gaenslenRight = "gaenslen-right"
    /// FABER (Patrick's) test, left side.
    case faberLeft = "faber-left"
    /// FABER (Patrick's) test, right side.
    case faberRight = "faber-right"
}

/// The outcome of a clinical test.
public enum TestResult: String, Codable, Sendable, CaseIterable {
    /// The test provoked the sign it looks for.
    case positive
    /// The test was done and did not provoke it.
    case negative
    /// The test was not done (contraindicated, not tolerated, or not needed).
    case notDone = "not-done"
}

/// A ligament palpated during the exam.
public enum Ligament: String, Codable, Sendable, CaseIterable {
    /// Iliolumbar ligament.
    case iliolumbar
    /// Long posterior sacroiliac ligament.
    case posteriorSacroiliacLong = "posterior-sacroiliac-long"
    /// Short posterior sacroiliac ligaments.
    case posteriorSacroiliacShort = "posterior-sacroiliac-short"
    /// Supraspinous ligament at one level.
    case supraspinous
    /// Interspinous ligament at one level.
    case interspinous
    /// Sacrotuberous ligament.
    case sacrotuberous
    /// Sacrospinous ligament.
    case sacrospinous

    /// Whether findings on this ligament name a ``SpinalLevel`` (supraspinous and interspinous ligaments do;
    /// the others must not).
    public var isSegmental: Bool { self == .supraspinous || self == .interspinous }
}

/// A structure injected during prolotherapy, or targeted by a course plan.
public enum InjectionSite: String, Codable, Sendable, CaseIterable {
    /// Iliolumbar ligament.
    case iliolumbar
    /// Long posterior sacroiliac ligament.
    case posteriorSacroiliacLong = "posterior-sacroiliac-long"
    /// Short posterior sacroiliac ligaments.
    case posteriorSacroiliacShort = "posterior-sacroiliac-short"
    /// Supraspinous ligament at one level.
    case supraspinous
    /// Interspinous ligament at one level.
    case interspinous
    /// Sacrotuberous ligament.
    case sacrotuberous
    /// Sacrospinous ligament.
    case sacrospinous
    /// Capsule of a facet (zygapophyseal) joint at one level.
    case facetCapsule = "facet-capsule"

    /// Whether a site record names a ``SpinalLevel`` (supraspinous, interspinous and facet capsule do;
    /// the others must not).
    public var isSegmental: Bool { self == .supraspinous || self == .interspinous || self == .facetCapsule }
}

/// A movement of the lumbar spine whose range is measured.
public enum Movement: String, Codable, Sendable, CaseIterable {
    /// Forward bending.
    case flexion
    /// Backward bending.
    case `extension`
    /// Side bending to the left.
    case lateralFlexionLeft = "lateral-flexion-left"
    /// Side bending to the right.
    case lateralFlexionRight = "lateral-flexion-right"
    /// Rotation to the left.
    case rotationLeft = "rotation-left"
    /// Rotation to the right.
    case rotationRight = "rotation-right"
}

/// A risk of prolotherapy discussed with the patient before consent.
public enum ConsentRisk: String, Codable, Sendable, CaseIterable {
    /// A flare of pain and stiffness for a few days after the injections.
    case postInjectionFlare = "post-injection-flare"
    /// Infection at an injection site.
    case infection
    /// Injury to a nerve.
    case nerveInjury = "nerve-injury"
    /// Injury to a ligament or tendon.
    case ligamentOrTendonInjury = "ligament-or-tendon-injury"
    /// Bruising.
    case bruising
    /// Bleeding.
    case bleeding
    /// An allergic reaction to the solution or the local anaesthetic.
    case allergicReaction = "allergic-reaction"
}

/// How the needle was guided to its target.
public enum Guidance: String, Codable, Sendable, CaseIterable {
    /// By palpation of bony landmarks.
    case palpation
    /// Under ultrasound.
    case ultrasound
    /// Under fluoroscopy.
    case fluoroscopy
}

/// A kind of side effect after an injection.
public enum SideEffectKind: String, Codable, Sendable, CaseIterable {
    /// Pain at or around the injection sites.
    case postInjectionPain = "post-injection-pain"
    /// Stiffness.
    case stiffness
    /// Bruising.
    case bruising
    /// Bleeding.
    case bleeding
    /// Fever.
    case fever
    /// Intense pain, beyond the expected flare.
    case intensePain = "intense-pain"
    /// Numbness (a neurological red flag when new).
    case numbness
    /// Tingling.
    case tingling
    /// Weakness (a neurological red flag when new).
    case weakness
    /// Saddle anaesthesia (a neurological red flag).
    case saddleAnaesthesia = "saddle-anaesthesia"
    /// A change in bladder or bowel function (a neurological red flag).
    case bladderBowelChange = "bladder-bowel-change"
    /// Headache.
    case headache
    /// Breathlessness.
    case breathlessness
    /// Chest pain (since side-effect.reported v2).
    case chestPain = "chest-pain"
    /// An allergic reaction.
    case allergicReaction = "allergic-reaction"
    /// Injury to a ligament or tendon.
    case ligamentOrTendonInjury = "ligament-or-tendon-injury"
    /// Anything else, described in the report's note.
    case other
}

/// A local sign of infection at an injection site (side-effect.reported v2).
public enum LocalSign: String, Codable, Sendable, CaseIterable {
    /// Redness.
    case redness
    /// Swelling.
    case swelling
    /// Warmth.
    case warmth
    /// Discharge (pus) from an injection site.
    case discharge
}

/// Who reports: the patient (from a home device) or a clinician.
public enum ReporterRole: String, Codable, Sendable, CaseIterable {
    /// The patient.
    case patient
    /// A clinician.
    case clinician
}

/// A pain or disability instrument and the range of its score.
public enum PainInstrument: String, Codable, Sendable, CaseIterable {
    /// Numeric rating scale of pain, 0–10.
    case nrs
    /// Visual analogue scale in millimetres, 0–100.
    case vas
    /// Oswestry Disability Index, 0–100 %.
    case odi
    /// Roland-Morris disability questionnaire, 0–24.
    case rolandMorris = "roland-morris"

    /// The scores this instrument allows, inclusive.
    public var range: ClosedRange<Int> {
        switch self {
        case .nrs: NRSScale.range
        case .vas: VASScale.range
        case .odi: ODIScale.range
        case .rolandMorris: RolandMorrisScale.range
        }
    }
}

/// A therapy given alongside prolotherapy (Cochrane: benefit when combined with manipulation and exercise).
public enum AdjunctTherapy: String, Codable, Sendable, CaseIterable {
    /// Spinal manipulation.
    case spinalManipulation = "spinal-manipulation"
    /// A prescribed exercise programme.
    case exercise
    /// Massage.
    case massage
    /// Physiotherapy.
    case physiotherapy
}

/// An alert the treatment projection raises (DESIGN §5), which a clinician clears with `alert.cleared`.
public enum AlertKind: String, Codable, Sendable, CaseIterable {
    /// Fever or reported fever with intense pain or grade ≥ 3, within 14 days after an injection.
    case possibleInfection = "possible-infection"
    /// New numbness, weakness, saddle anaesthesia, or bladder or bowel change.
    case neurologicalRedFlag = "neurological-red-flag"
    /// A side effect of CTCAE grade 3 or more.
    case seriousAdverseEvent = "serious-adverse-event"
    /// No improvement after the policy's number of sessions: re-evaluate.
    case noImprovement = "no-improvement"
    /// An injection was given sooner after the previous one than the course's minimum interval.
    case sessionTooSoon = "session-too-soon"
    /// More injections than the policy's session cap (12) in one course.
    case sessionCap = "session-cap"
    /// An injection was given while a red-flag alert was not cleared.
    case injectionWhileRedFlag = "injection-while-red-flag"
    /// An injection was given without recorded consent.
    case injectionWithoutConsent = "injection-without-consent"
    /// Two validly signed events share one origin position: the device was forked (restored backup, copied key).
    case forkDetected = "fork-detected"
    /// Facts merged from several devices disagree and need a clinician's review (clears review flags).
    case mergeReview = "merge-review"
    /// Breathlessness or chest pain after an injection, at any grade (pneumothorax). Since alert.cleared v2.
    case breathlessnessOrChestPain = "breathlessness-or-chest-pain"
    /// An allergic reaction, reported or seen at the injection, at any grade. Since alert.cleared v2.
    case allergicReaction = "allergic-reaction"
    /// A headache after an injection, at any grade. Since alert.cleared v2.
    case postInjectionHeadache = "post-injection-headache"
    /// Bleeding or a vasovagal episode at the injection. Since alert.cleared v2.
    case immediateReaction = "immediate-reaction"
    /// An exam found a red flag (fever, cancer history, unexplained weight loss, immunosuppression). Since v2.
    case examRedFlag = "exam-red-flag"
    /// An exam decided the patient is not a candidate for prolotherapy. Since alert.cleared v2.
    case notACandidate = "not-a-candidate"
    /// One session gave more lidocaine than the policy's maximum. Since alert.cleared v2.
    case lidocaineDose = "lidocaine-dose"
    /// More injections than the course planned. Since alert.cleared v2.
    case sessionsBeyondPlan = "sessions-beyond-plan"
}

/// The person who reports a side effect or a pain score, or cancels a session.
public struct Reporter: Codable, Sendable, Hashable {
    /// Whether the patient or a clinician reports.
    public var role: ReporterRole
    /// The patient's id or the clinician's practitioner id.
    public var id: Identifier

    /// Makes a reporter.
    public init(role: ReporterRole, id: Identifier) {
        self.role = role
        self.id = id
    }
}

/// Another component of a proliferant solution than dextrose and lidocaine.
public struct ProliferantComponent: Codable, Sendable, Hashable {
    /// The component's name (`sodium morrhuate`, `phenol`).
    public var name: Label
    /// Its concentration in the final solution, in mg/mL.
    public var mgPerMl: Quantity<MilligramsPerMillilitre>

    /// Makes a component.
    public init(name: Label, mgPerMl: Quantity<MilligramsPerMillilitre>) {
        self.name = name
        self.mgPerMl = mgPerMl
    }
}

/// The composition of a proliferant solution, in final concentrations (15 % dextrose is 150 mg/mL).
public struct Proliferant: Codable, Sendable, Hashable {
    /// Dextrose concentration in mg/mL (0 when the solution has none).
    public var dextroseMgPerMl: Quantity<MilligramsPerMillilitre>
    /// Lidocaine concentration in mg/mL, when the solution has any (0.2 % is 2 mg/mL).
    public var lidocaineMgPerMl: Quantity<MilligramsPerMillilitre>?
    /// Other components, when there are any.
    public var otherComponents: [ProliferantComponent]?

    /// Makes a proliferant composition.
    public init(
        dextroseMgPerMl: Quantity<MilligramsPerMillilitre>, lidocaineMgPerMl: Quantity<MilligramsPerMillilitre>? = nil,
        otherComponents: [ProliferantComponent]? = nil
    ) {
        self.dextroseMgPerMl = dextroseMgPerMl
        self.lidocaineMgPerMl = lidocaineMgPerMl
        self.otherComponents = otherComponents
    }
}

/// A structure a course plans to treat.
public struct TargetSite: Codable, Sendable, Hashable {
    /// The structure.
    public var site: InjectionSite
    /// The side.
    public var side: Side
    /// The motion segment; present exactly when ``InjectionSite/isSegmental`` is true.
    public var level: SpinalLevel?

    /// Makes a target site.
    public init(site: InjectionSite, side: Side, level: SpinalLevel? = nil) {
        self.site = site
        self.side = side
        self.level = level
    }
}

extension InjectionSite {
    /// Checks that `level` is present exactly when this site is segmental; `path` names the record.
    func checkLevel(_ level: SpinalLevel?, at path: String) throws(PayloadError) {
        if isSegmental, level == nil {
            throw PayloadError(path: path + ".level", "a \(rawValue) site needs its level (L1-L2 … L5-S1)")
        }
        if !isSegmental, level != nil {
            throw PayloadError(path: path + ".level", "a \(rawValue) site has no level; leave the field out")
        }
    }
}
