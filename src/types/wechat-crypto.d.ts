// wechat-crypto 0.0.2 ships no types. Only the parts wekube uses are declared.
declare module 'wechat-crypto' {
  class WXBizMsgCrypt {
    constructor(token: string, encodingAESKey: string, id: string);
    readonly key: Buffer;
    readonly iv: Buffer;
    getSignature(timestamp: string, nonce: string, encrypt: string): string;
    encrypt(text: string): string;
    decrypt(text: string): { message: string; id: string };
  }
  export = WXBizMsgCrypt;
}
