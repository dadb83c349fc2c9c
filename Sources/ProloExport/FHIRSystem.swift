/// The code systems, identifier systems and extension URLs the FHIR export writes, and nothing else.
///
/// External systems are the ones `../shared/fhir/MAPPING.md` names; Prolo's own vocabulary (ligaments, provocation
/// tests, alert kinds …) lives in local code systems under ``localPrefix``, each listed in ``localCodeSystems`` and
/// documented in `Schemas/fhir-export.md`. A code whose external meaning could not be confirmed offline is written
/// with its local code first and the external code beside it (see the document's "(u) codes" section).
public enum FHIRSystem {
    /// LOINC.
    public static let loinc = "http://loinc.org"
    /// SNOMED CT.
    public static let snomed = "http://snomed.info/sct"
    /// UCUM units.
    public static let ucum = "http://unitsofmeasure.org"
    /// ICD-10-CM diagnoses.
    public static let icd10 = "http://hl7.org/fhir/sid/icd-10-cm"
    /// RxNorm.
    public static let rxnorm = "http://www.nlm.nih.gov/research/umls/rxnorm"
    /// NCI Thesaurus (CTCAE grades).
    public static let ncit = "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl"
    /// ASTM E1762 signature types.
    public static let astmSignatureType = "urn:iso-astm:E1762-95:2013"

    /// An HL7 terminology code system by its name (`v3-ActCode`, `observation-category` …).
    public static func hl7(_ name: String) -> String { "http://terminology.hl7.org/CodeSystem/" + name }

    /// The HL7 terminology code systems the export uses.
    public static let hl7CodeSystems: Set<String> = [
        "v3-ActCode", "v3-DataOperation", "consentscope", "observation-category", "condition-clinical",
        "condition-ver-status", "condition-category", "data-absent-reason", "adverse-event-severity",
        "adverse-event-seriousness", "adverse-event-outcome", "flag-category", "provenance-participant-type",
        "v2-0203",
    ]

    /// Where Prolo's own code systems, identifier systems and extensions live: `urn:prolo:fhir:`.
    public static let localPrefix = "urn:prolo:fhir:"

    /// A local code system by name.
    public static func local(_ name: String) -> String { localPrefix + "CodeSystem:" + name }

    /// A local extension by name.
    public static func localExtension(_ name: String) -> String { localPrefix + "StructureDefinition:" + name }

    /// A local identifier system by name (`event`, `patient`, `mrn`, `practitioner`, `device-key` …).
    public static func identifier(_ name: String) -> String { "urn:prolo:" + name }

    /// Prolo's local code systems, by name.
    public static let localCodeSystems: Set<String> = [
        "back-structure", "side", "spinal-level", "provocation-test", "exam-finding", "movement", "consent-risk",
        "procedure", "adjunct-therapy", "guidance", "immediate-reaction", "side-effect-kind", "local-sign",
        "ctcae-grade", "pain-instrument", "session-purpose", "cancel-reason", "alert-kind", "course-close-reason",
        "device-role", "body-region", "proliferant", "care-plan-category", "test-result",
    ]

    /// Every code system a coding of the export may name.
    public static var codeSystems: Set<String> {
        Set([loinc, snomed, ucum, icd10, rxnorm, ncit, astmSignatureType])
            .union(hl7CodeSystems.map(hl7))
            .union(localCodeSystems.map(local))
    }

    /// Core and published extensions the export uses besides local ones.
    public static let aeGrade = "http://hl7.org/fhir/uv/ae-research-backport-ig/StructureDefinition/ae-grade"
    /// Links an AdverseEvent to the temperature Observation (R4 AdverseEvent has no supportingInfo).
    public static let supportingInfo = "http://hl7.org/fhir/StructureDefinition/workflow-supportingInfo"
    /// Links a Flag to the DetectedIssue that explains it.
    public static let flagDetail = "http://hl7.org/fhir/StructureDefinition/flag-detail"
}
