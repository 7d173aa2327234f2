# A writable root filesystem lets a process drop files that later run or get imported, and lets
# plaintext land on disk. Every container of every pod must set readOnlyRootFilesystem: true
# (there is no pod-level field); scratch space comes from an emptyDir.
package sandboxreadonlyroot

import future.keywords.contains
import future.keywords.if
import future.keywords.in

import data.lib.sandbox

violation contains {"msg": msg} if {
	some x in sandbox.containers
	object.get(x.container, ["securityContext", "readOnlyRootFilesystem"], null) != true
	msg := concat("", [sandbox.where(x), ": securityContext.readOnlyRootFilesystem must be true"])
}
