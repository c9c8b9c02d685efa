namespace ActorMonitor.Celery.Events;

/// <summary>Why an event or a whole message was refused (bad input is rejected, counted and logged once per cause).</summary>
public enum RejectionCause
{
    NotJson,
    TooLarge,
    NotAnEvent,
    MissingType,
    MissingField,
    IllTypedField,
    NonFiniteNumber,
    IdTooLong,
    NullClock,
    ReservedField,
    UnsupportedKombuType,
    BadCaptureLine,
    // Appended, never inserted: counts by cause are kept in checkpoints.
    /// <summary>application/x-msgpack body that unpackb(raw=False) would refuse: malformed, trailing bytes, a str not UTF-8, a map key neither str nor bin, nested too deep.</summary>
    NotMsgpack,
    /// <summary>A msgpack ext value (timestamp or any other ext type): nothing JSON could have carried.</summary>
    UnsupportedMsgpackType,
    /// <summary>application/x-python-serialize: refused, never unpickled.</summary>
    RefusedPickle,
    /// <summary>application/x-yaml: refused, never loaded.</summary>
    RefusedYaml,
    /// <summary>Any content type other than JSON and msgpack: refused, never deserialized.</summary>
    UnknownContentType,
    /// <summary>A JSON body that is not valid UTF-8: Celery's receiver cannot decode it; read leniently, different names would merge.</summary>
    NotUtf8,
    /// <summary>A hostname or uuid holding a control character (NUL among them): such an id could never be asked for.</summary>
    ControlCharacterInId,
}

public sealed record Rejection(RejectionCause Cause, string Detail)
{
    public override string ToString() => $"{Cause}: {Detail}";
}
