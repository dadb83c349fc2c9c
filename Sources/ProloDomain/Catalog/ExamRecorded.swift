/// `exam.recorded`: a clinician's examination of the low back and the decision whether prolotherapy fits.
public struct ExamRecorded: EventPayload {
    /// This payload belongs to `exam.recorded` events.
    public static let eventType = EventType.examRecorded
    /// v2 adds body weight, anticoagulant or antiplatelet use, a bleeding disorder and allergies, each optional
    /// (absent: not recorded, as in every v1 exam, which is upcast on read).
    public static let schemaVersion = 2

    /// Known allergies (since v2).
    public struct Allergies: Codable, Sendable, Hashable {
        /// Allergic to a local anaesthetic (lidocaine and others).
        public var localAnaesthetic: Bool
        /// Other allergies, by name.
        public var other: [Label]?

        /// Makes an allergy record.
        public init(localAnaesthetic: Bool, other: [Label]? = nil) {
            self.localAnaesthetic = localAnaesthetic
            self.other = other
        }
    }

    /// Answers to the red-flag questions that call for other care before any injection.
    public struct RedFlagScreen: Codable, Sendable, Hashable {
        /// History of cancer.
        public var cancerHistory: Bool
        /// Unexplained weight loss.
        public var unexplainedWeightLoss: Bool
        /// Fever or systemic illness.
        public var fever: Bool
        /// Significant trauma.
        public var significantTrauma: Bool
        /// Immunosuppression or intravenous drug use.
        public var immunosuppression: Bool
        /// Saddle anaesthesia.
        public var saddleAnaesthesia: Bool
        /// New bladder or bowel dysfunction.
        public var bladderBowelDysfunction: Bool
        /// Progressive neurological deficit.
        public var progressiveNeurologicalDeficit: Bool

        /// Makes a screen; every answer defaults to "absent".
        public init(
            cancerHistory: Bool = false, unexplainedWeightLoss: Bool = false, fever: Bool = false,
            significantTrauma: Bool = false, immunosuppression: Bool = false, saddleAnaesthesia: Bool = false,
            bladderBowelDysfunction: Bool = false, progressiveNeurologicalDeficit: Bool = false
        ) {
            self.cancerHistory = cancerHistory
            self.unexplainedWeightLoss = unexplainedWeightLoss
            self.fever = fever
            self.significantTrauma = significantTrauma
            self.immunosuppression = immunosuppression
            self.saddleAnaesthesia = saddleAnaesthesia
            self.bladderBowelDysfunction = bladderBowelDysfunction
            self.progressiveNeurologicalDeficit = progressiveNeurologicalDeficit
        }

        /// Whether any red flag is present.
        public var anyPresent: Bool {
            cancerHistory || unexplainedWeightLoss || fever || significantTrauma || immunosuppression
                || saddleAnaesthesia || bladderBowelDysfunction || progressiveNeurologicalDeficit
        }
    }

    /// The result of one sacroiliac provocation test.
    public struct ProvocationFinding: Codable, Sendable, Hashable {
        /// The test.
        public var test: ProvocationTest
        /// Positive, negative or not done.
        public var result: TestResult
        /// Whether the test reproduced the patient's familiar pain; absent when not asked.
        public var reproducesFamiliarPain: Bool?

        /// Makes a finding.
        public init(test: ProvocationTest, result: TestResult, reproducesFamiliarPain: Bool? = nil) {
            self.test = test
            self.result = result
            self.reproducesFamiliarPain = reproducesFamiliarPain
        }
    }

    /// The tenderness of one palpated ligament.
    public struct PalpationFinding: Codable, Sendable, Hashable {
        /// The ligament.
        public var ligament: Ligament
        /// The side palpated.
        public var side: Side
        /// The motion segment; present exactly for supraspinous and interspinous ligaments.
        public var level: SpinalLevel?
        /// Tenderness, 0 (none) to 3 (severe).
        public var tenderness: Score<TendernessScale>
        /// Whether palpation reproduced the patient's pain.
        public var reproducesPain: Bool

        /// Makes a finding.
        public init(
            ligament: Ligament, side: Side, level: SpinalLevel? = nil, tenderness: Score<TendernessScale>,
            reproducesPain: Bool
        ) {
            self.ligament = ligament
            self.side = side
            self.level = level
            self.tenderness = tenderness
            self.reproducesPain = reproducesPain
        }
    }

    /// The measured range of one movement.
    public struct RangeOfMotion: Codable, Sendable, Hashable {
        /// The movement.
        public var movement: Movement
        /// The range reached, in degrees.
        public var degrees: Score<DegreesScale>
        /// Whether the end of the range was painful.
        public var painAtEndRange: Bool

        /// Makes a measurement.
        public init(movement: Movement, degrees: Score<DegreesScale>, painAtEndRange: Bool) {
            self.movement = movement
            self.degrees = degrees
            self.painAtEndRange = painAtEndRange
        }
    }

    /// A screen for nerve-root involvement.
    public struct NeuroScreen: Codable, Sendable, Hashable {
        /// Straight-leg raise, left.
        public var straightLegRaiseLeft: TestResult
        /// Straight-leg raise, right.
        public var straightLegRaiseRight: TestResult
        /// Power in the legs is normal.
        public var motorNormal: Bool
        /// Sensation in the legs is normal.
        public var sensationNormal: Bool
        /// Knee and ankle reflexes are normal.
        public var reflexesNormal: Bool
        /// What else was found.
        public var note: Note?

        /// Makes a neuro screen.
        public init(
            straightLegRaiseLeft: TestResult, straightLegRaiseRight: TestResult, motorNormal: Bool,
            sensationNormal: Bool, reflexesNormal: Bool, note: Note? = nil
        ) {
            self.straightLegRaiseLeft = straightLegRaiseLeft
            self.straightLegRaiseRight = straightLegRaiseRight
            self.motorNormal = motorNormal
            self.sensationNormal = sensationNormal
            self.reflexesNormal = reflexesNormal
            self.note = note
        }
    }

    /// One ICD-10 diagnosis.
    public struct Diagnosis: Codable, Sendable, Hashable {
        /// The ICD-10 code (`M54.50`).
        public var code: ICD10Code
        /// Its wording, when given.
        public var description: Label?

        /// Makes a diagnosis.
        public init(code: ICD10Code, description: Label? = nil) {
            self.code = code
            self.description = description
        }
    }

    /// The examiner's assessment.
    public struct Assessment: Codable, Sendable, Hashable {
        /// Whether ligament laxity is the likely source of pain.
        public var ligamentLaxityLikely: Bool
        /// The reasoning, when written down.
        public var note: Note?

        /// Makes an assessment.
        public init(ligamentLaxityLikely: Bool, note: Note? = nil) {
            self.ligamentLaxityLikely = ligamentLaxityLikely
            self.note = note
        }
    }

    /// Whether the patient is a candidate for prolotherapy, and why.
    public struct Decision: Codable, Sendable, Hashable {
        /// The patient is a candidate.
        public var candidate: Bool
        /// Why, or why not.
        public var reason: Note

        /// Makes a decision.
        public init(candidate: Bool, reason: Note) {
            self.candidate = candidate
            self.reason = reason
        }
    }

    /// The examining clinician.
    public var examiner: Identifier
    /// The region examined.
    public var region: BodyRegion
    /// Pain now on the numeric rating scale, 0–10.
    public var painNRS: Score<NRSScale>
    /// Oswestry Disability Index, 0–100 %.
    public var odi: Score<ODIScale>
    /// The red-flag screen.
    public var redFlags: RedFlagScreen
    /// Sacroiliac provocation tests.
    public var provocationTests: [ProvocationFinding]
    /// Ligament palpation.
    public var palpation: [PalpationFinding]
    /// Lumbar range of motion.
    public var rangeOfMotion: [RangeOfMotion]
    /// The neurological screen.
    public var neuroScreen: NeuroScreen
    /// ICD-10 diagnoses.
    public var diagnoses: [Diagnosis]
    /// The examiner's assessment.
    public var assessment: Assessment
    /// Candidate for prolotherapy or not.
    public var decision: Decision
    /// Body weight in kg, for the lidocaine dose limit (since v2).
    public var bodyWeightKg: Quantity<Kilograms>?
    /// Whether the patient takes an anticoagulant or antiplatelet drug (since v2).
    public var anticoagulantOrAntiplatelet: Bool?
    /// Whether the patient has a bleeding disorder (since v2).
    public var bleedingDisorder: Bool?
    /// Known allergies, especially to local anaesthetics (since v2).
    public var allergies: Allergies?

    /// Makes an exam record.
    public init(
        examiner: Identifier, region: BodyRegion, painNRS: Score<NRSScale>, odi: Score<ODIScale>,
        redFlags: RedFlagScreen, provocationTests: [ProvocationFinding], palpation: [PalpationFinding],
        rangeOfMotion: [RangeOfMotion], neuroScreen: NeuroScreen, diagnoses: [Diagnosis], assessment: Assessment,
        decision: Decision, bodyWeightKg: Quantity<Kilograms>? = nil, anticoagulantOrAntiplatelet: Bool? = nil,
        bleedingDisorder: Bool? = nil, allergies: Allergies? = nil
    ) {
        self.bodyWeightKg = bodyWeightKg
        self.anticoagulantOrAntiplatelet = anticoagulantOrAntiplatelet
        self.bleedingDisorder = bleedingDisorder
        self.allergies = allergies
        self.examiner = examiner
        self.region = region
        self.painNRS = painNRS
        self.odi = odi
        self.redFlags = redFlags
        self.provocationTests = provocationTests
        self.palpation = palpation
        self.rangeOfMotion = rangeOfMotion
        self.neuroScreen = neuroScreen
        self.diagnoses = diagnoses
        self.assessment = assessment
        self.decision = decision
    }

    /// Refuses a level on a non-segmental ligament and a missing level on a segmental one.
    public func validate() throws(PayloadError) {
        for (position, finding) in palpation.enumerated() {
            let path = "$.palpation[\(position)].level"
            let ligament = finding.ligament.rawValue
            if finding.ligament.isSegmental, finding.level == nil {
                throw PayloadError(path: path, "a \(ligament) finding needs its level (L1-L2 … L5-S1)")
            }
            if !finding.ligament.isSegmental, finding.level != nil {
                throw PayloadError(path: path, "a \(ligament) finding has no level; leave the field out")
            }
        }
    }
}
