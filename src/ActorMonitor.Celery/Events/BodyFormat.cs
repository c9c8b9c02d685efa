namespace ActorMonitor.Celery.Events;

/// <summary>How a message body is read, chosen by its AMQP content type (kombu's serializer registry).</summary>
public enum BodyFormat
{
    /// <summary>application/json, or no content type at all (as before content types were read).</summary>
    Json,

    /// <summary>application/x-msgpack: kombu's msgpack serializer (packb(use_bin_type=True), unpackb(raw=False)).</summary>
    Msgpack,

    /// <summary>application/x-python-serialize: never deserialized (unpickling runs code).</summary>
    Pickle,

    /// <summary>application/x-yaml: never deserialized (a YAML loader can build objects).</summary>
    Yaml,

    /// <summary>Any other content type: never deserialized.</summary>
    Unknown,
}

public static class BodyFormats
{
    public const string JsonContentType = "application/json";
    public const string MsgpackContentType = "application/x-msgpack";
    public const string PickleContentType = "application/x-python-serialize";
    public const string YamlContentType = "application/x-yaml";

    /// <summary>
    /// The format of a content type, compared as kombu does (the media type exactly; parameters
    /// such as "; charset=utf-8" and letter case are tolerated).
    /// </summary>
    public static BodyFormat Of(string? contentType)
    {
        if (string.IsNullOrEmpty(contentType)) return BodyFormat.Json;
        if (contentType == JsonContentType) return BodyFormat.Json; // the common case, without allocating
        if (contentType == MsgpackContentType) return BodyFormat.Msgpack;
        var semi = contentType.IndexOf(';');
        var media = (semi < 0 ? contentType : contentType[..semi]).Trim();
        if (media.Length == 0) return BodyFormat.Json;
        if (media.Equals(JsonContentType, StringComparison.OrdinalIgnoreCase)) return BodyFormat.Json;
        if (media.Equals(MsgpackContentType, StringComparison.OrdinalIgnoreCase)) return BodyFormat.Msgpack;
        if (media.Equals(PickleContentType, StringComparison.OrdinalIgnoreCase)) return BodyFormat.Pickle;
        if (media.Equals(YamlContentType, StringComparison.OrdinalIgnoreCase)) return BodyFormat.Yaml;
        return BodyFormat.Unknown;
    }
}
