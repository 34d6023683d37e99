/* Error numbers and version: sinew_errno, sinew_strerror, sinew_version. */
#include <string.h>

#include "sinew.h"

SINEW_EXPORT int
sinew_errno(void)
{
    return errno;
}

SINEW_EXPORT const char *
sinew_strerror(int errnum)
{
    switch (errnum) {
    case EFSM:
        return "Operation cannot be accomplished in current state";
    case ENOCOMPATPROTO:
        return "The protocol is not compatible with the socket type";
    case ETERM:
        return "Context was terminated";
    case EMTHREAD:
        return "No thread available";
    default:
        return strerror(errnum);
    }
}

SINEW_EXPORT void
sinew_version(int *major, int *minor, int *patch)
{
    if (major != NULL)
        *major = SINEW_VERSION_MAJOR;
    if (minor != NULL)
        *minor = SINEW_VERSION_MINOR;
    if (patch != NULL)
        *patch = SINEW_VERSION_PATCH;
}
