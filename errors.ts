/**
 * A problem the user fixes (bad configuration, hosts that disagree), reported the way `pulumi` reports
 * its own: the message alone, one line per problem, no stack trace.
 *
 * The SDK prints a `RunError`'s message while the program's main module runs; an error raised later,
 * inside an output as the deployment goes, it prints as its `stack`. So the stack is the message (which
 * also keeps out the `error serializing property "<name>": ` prefixes the SDK adds to the message, once
 * per resource the output feeds).
 *
 * It is a `RunError` by the SDK's own test (`RunError.isInstance` looks for a true `__pulumiRunError`, so
 * that it works across copies of the SDK), without importing the SDK: `npm run check` uses this module and
 * starts faster without it.
 */
export class UserError extends Error {
    readonly __pulumiRunError = true;

    constructor(message: string) {
        super(message);
        this.name = "UserError";
        this.stack = message;
    }
}
