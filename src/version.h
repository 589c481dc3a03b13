#ifndef VESSEL_VERSION_H
#define VESSEL_VERSION_H

#ifndef VESSEL_VERSION
#define VESSEL_VERSION "0.1.0"
#endif
/* The runtime-spec version vessel implements and writes. */
#define VESSEL_OCI_VERSION "1.2.0"

#endif
